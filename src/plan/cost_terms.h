// Helpers of the planner's cost model shared by EstimatePlan, the search and the replay: layer
// times with recomputation, in-flight micro-batches, goal values. The iteration's terms are in
// iteration_terms.h.
#pragma once

#include <algorithm>
#include <optional>

#include "opal/plan.h"
#include "plan/iteration_terms.h"

namespace opal::plan {

// A layer's time from the context's sources, with recomputation applied.
inline std::optional<LayerTime> LayerTimeOf(const PlanContext& ctx, int layer, const GpuType& gpu,
                                            int mbs, int tp) {
  auto t = ctx.perf->Time(*ctx.model, layer, gpu, mbs, tp);
  if (t && ctx.model->recompute) t->bwd += t->fwd;
  return t;
}

inline int InFlight(int num_micro, int stages_after_and_self) {
  return std::min(num_micro, stages_after_and_self);
}

}  // namespace opal::plan

namespace opal::plan {

// The goal's value of a plan with iteration time T and price (USD/hour): smaller is better,
// +infinity when the goal's constraint is broken. Monotone in T and in price.
inline double GoalValue(const Goal& goal, double iterations, double T, double price) {
  const double inf = 1.0 / 0.0;
  const double cost_iter = T * price / 3600;
  switch (goal.kind) {
    case Goal::Kind::kThroughput:
      return T;
    case Goal::Kind::kMinCostPerIter:
      return cost_iter;
    case Goal::Kind::kMinCostDeadline:
      return iterations * T <= goal.limit ? cost_iter : inf;
    case Goal::Kind::kMinTimeBudget:
      return iterations * cost_iter <= goal.limit ? T : inf;
    case Goal::Kind::kMinTimeHourlyCap:
      return price <= goal.limit ? T : inf;
  }
  return inf;
}

}  // namespace opal::plan
