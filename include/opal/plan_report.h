// Output of the planner: a text table for people, JSON (format opal.plan/1) for scripts, and an
// SVG with the pipeline timeline of one iteration of the best plan and the time/cost Pareto
// front with the homogeneous baselines. Pure functions of their inputs.
#pragma once

#include <string>

#include "opal/json.h"
#include "opal/plan_search.h"
#include "opal/plan_sim.h"

namespace opal::plan {

std::string ReportText(const PlanContext& ctx, const PlanReport& report);
Json ReportJson(const PlanContext& ctx, const PlanReport& report);
// `sim` is the simulation of report.best.best.
std::string ReportSvg(const PlanContext& ctx, const PlanReport& report, const SimResult& sim);

// Gain of the best plan over the best homogeneous plan under the report's goal, as
// time ratio (homogeneous / best) and cost ratio; 0 when there is no feasible homogeneous plan.
struct Gain {
  int pool = -1;          // pool of the best homogeneous plan
  double speedup = 0;     // iteration time homogeneous / best
  double cost_ratio = 0;  // cost per iteration homogeneous / best
};
Gain GainOverHomogeneous(const ModelSpec& model, const PlanReport& report);

// A stage's layer range [first, end) and its simulated times in seconds (fwd_s, bwd_s, update_s,
// allreduce_s, tied_allreduce_s, p2p_out_s): the part of a stage that plan and replay JSON share.
Json StageTimesJson(const StagePlan& st);

}  // namespace opal::plan
