// The parts of CollectReport (opal/report.h), one per section of the page.
#pragma once

#include <string>

#include "opal/json.h"
#include "opal/record_store.h"
#include "opal/report.h"
#include "opal/status.h"

namespace opal::report {

// "stats": per target and op, as `opal db stats`; "curves": per workload (the `max_curves` with
// the most trials) the best valid time so far after each trial; "trials": records in all.
Result<Json> CollectStore(RecordStore& store, const ReportOptions& o);

// "cost_model": the model's facts and, per sampled valid record, its score against the
// measured GFLOP/s relative to the best of its workload and target. Null when no model is
// named and none is registered.
Result<Json> CollectCostModel(RecordStore& store, const ReportOptions& o);

// "model": the manifest's kernels with their schedules and each kernel call's mean time.
Result<Json> CollectModel(const std::string& dir, int runs);

// "plan": the best plan's stages, its simulated iteration (events), the Pareto front and the
// best homogeneous plans, from an opal.plan/1 file.
Result<Json> CollectPlan(const std::string& path);

}  // namespace opal::report
