// The search space for one global micro-batch size: stage configurations (pool, tp, dp) with
// prefix sums of their layer times, and the model's prefix sums of memory figures. Shared by the
// branch-and-bound search (search.cc); internal to opal_plan.
#pragma once

#include <map>
#include <tuple>
#include <vector>

#include "opal/plan_search.h"

namespace opal::plan {

struct StageConfig {
  int pool = 0, tp = 1, dp = 1, mbs = 1, gpus = 1;
  double price = 0;         // USD/hour for its GPUs
  std::vector<double> fb;   // prefix sums over layers of fwd + bwd
  std::vector<double> upd;  // prefix sums of update
};

// Layer times per (pool, tp, per-replica micro-batch), filled on first use.
class LayerTimeCache {
 public:
  explicit LayerTimeCache(const PlanContext& ctx) : ctx_(ctx) {}
  // nullptr when some layer has no time.
  const std::vector<LayerTime>* Get(int pool, int tp, int mbs);

 private:
  const PlanContext& ctx_;
  std::map<std::tuple<int, int, int>, std::vector<LayerTime>> cache_;
  std::map<std::tuple<int, int, int>, bool> missing_;
};

struct SpaceForBatch {
  int micro_batch = 1, num_micro = 1;
  std::vector<StageConfig> configs;
  std::vector<double> lb_sum;   // lb_sum[a]: sum over layers < a of the fastest fwd+bwd
  std::vector<double> lb_work;  // lb_work[a]: sum over layers < a of min (fwd+bwd) * GPUs
  double seed_value = 0;        // goal value of the best uniform plan (search order)
};

// Model-only prefix sums (index a = layers [0, a)).
struct ModelPrefix {
  std::vector<double> params, act, act_rep;
  explicit ModelPrefix(const ModelSpec& m);
};

// kInvalidArgument/kInvalidModel when the context cannot be searched (no layers, no pools, a
// job-level goal without a job length).
Status CheckSearchInputs(const PlanContext& ctx, const Goal& goal);

// Candidate global micro-batch sizes for the options (divisors of the global batch).
std::vector<int> MicroBatchCandidates(const ModelSpec& model, const SearchOptions& o);

// Builds the configurations for `micro_batch` allowed by `o` and the cluster.
SpaceForBatch BuildSpace(const PlanContext& ctx, const SearchOptions& o, int micro_batch,
                         LayerTimeCache* cache);

// Scores cheap good plans of the space (uniform and tau-balanced ones, seed_plans.cc) into
// `res` (which keeps the best), to start the branch and bound with a tight bound.
void SeedPlans(const PlanContext& ctx, const Goal& goal, const SearchOptions& o,
               const SpaceForBatch& sp, const ModelPrefix& pre, SearchResult* res);

inline StagePlan MakeStage(int first, int end, int pool, int tp, int dp) {
  StagePlan s;
  s.first = first;
  s.end = end;
  s.pool = pool;
  s.tp = tp;
  s.dp = dp;
  return s;
}

}  // namespace opal::plan
