// The search space for one global micro-batch size: stage configurations (one replica group on a
// pool, or two groups on two pools: heterogeneous data parallelism) with prefix sums of their
// layer times, and the model's prefix sums of memory figures. Shared by the branch-and-bound
// search (search.cc), the seeds (seed_plans.cc) and brute force; internal to opal_plan.
#pragma once

#include <chrono>
#include <map>
#include <tuple>
#include <vector>

#include "opal/plan_search.h"
#include "plan/iteration_terms.h"

namespace opal::plan {

// Layer times of one replica group over the model's layers, as prefix sums (index a = layers
// [0, a)): forward, backward, optimizer step.
struct GroupTimes {
  std::vector<double> fwd, bwd, upd;
};

struct StageConfig {
  std::vector<ReplicaGroup> groups;  // samples filled; one group: a plain stage
  std::vector<GroupTimes> times;     // one per group
  int replicas = 1, gpus = 1;
  double price = 0;  // USD/hour for its GPUs
  // Forward + backward of layers [f, a): the slowest group's forward plus its slowest backward.
  double Fb(int f, int a) const;
  // Optimizer step of layers [f, a): the slowest group's.
  double Update(int f, int a) const;
  // The stage as a plan stage (homogeneous when it has one group).
  StagePlan MakeStage(int first, int end) const;
};

// Layer times per (pool, tp, per-replica samples), filled on first use.
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
  std::vector<double> lb_sum;  // lb_sum[a]: sum over layers < a of the fastest fwd+bwd
  // lb_work[a]: GPU-seconds of a micro-batch through layers < a on the GPUs that do it with the
  // fewest (per layer, over every pool and configuration that can hold the layer).
  std::vector<double> lb_work;
  // How much of that reference work one GPU of each pool can do per second of cycle: 1 / the
  // smallest ratio, over layers, of the pool's GPU-seconds to the reference's (0: the pool holds
  // no layer). A cycle of C seconds on n_p GPUs of every pool p covers at most
  // C x sum_p n_p x pool_rate[p] of reference work, so C >= work / that sum.
  std::vector<double> pool_rate;
  double seed_value = 0;   // goal value of the best uniform plan
  double bound_value = 0;  // goal value of PlanTimeLowerBound (time_bound.h; search order)
  // The relaxation's cheapest cycle and tail and per-pool configuration (TimeBound), for seeds.
  double relaxed_cycle = 0, relaxed_tail = 0;
  std::vector<int> relaxed_config;
  // The smallest cycle any plan of this space can have with `free` GPUs per pool left for
  // layers [0, a): lb_work[a] / sum_p free[p] x pool_rate[p].
  double CycleBound(int a, const std::vector<int>& free) const;
  // A tighter bound on the whole plan's cycle with every GPU of the cluster free (0 when not
  // computed): the smallest C at which the stages the pools could form cover all layers. A stage
  // of configuration c with cycle <= C holds at most k_c(C) layers: as many as its memory allows
  // and whose fastest k sum, for each of its groups, with its own side of two transfers to at
  // most C; one of its GPUs does at most k_c(C) x (its replica's samples / micro-batch) / tp of
  // them, and every GPU of a pool at most the best of that over its configurations (stages may
  // be fractional). FullCycleBound in search_space.cc.
  double full_cycle_bound = 0;
};

// Model-only prefix sums (index a = layers [0, a)).
struct ModelPrefix {
  std::vector<double> params, act, act_rep, act_exact;
  explicit ModelPrefix(const ModelSpec& m);
  // Parameters of a stage of layers [f, a) (one copy of the tied ones when it holds both ends).
  double Params(const ModelSpec& m, int f, int a) const;
};

// The parts of a stage, shared by the search's incremental scoring and the seeds, equal to what
// EstimatePlan computes for the same stage.
std::vector<GroupAt> GroupsAt(const PlanContext& ctx, const StageConfig& c);
// Peak bytes over the config's groups for layers [f, a) with `inflight` micro-batches; sets
// *fits to whether every group fits its GPU.
double ConfigMemory(const PlanContext& ctx, const ModelPrefix& pre, const StageConfig& c, int f,
                    int a, int inflight, bool* fits);

// Layers of `set` a stage of `c` can hold at most as memory goes: the k lightest of them (in
// parameters and in activations, each sorted on its own) with one micro-batch in flight must fit
// every group.
int MemoryLayers(const PlanContext& ctx, const StageConfig& c, const std::vector<int>& set);
// The same with the set's figures sorted once (for many configurations).
struct LayerFigures {
  LayerFigures(const ModelSpec& m, const std::vector<int>& set);
  std::vector<double> params, act, rep, exact;  // each sorted on its own
};
int MemoryLayers(const PlanContext& ctx, const StageConfig& c, const LayerFigures& figures);

// kInvalidArgument/kInvalidModel when the context cannot be searched (no layers, no pools, a
// job-level goal without a job length).
Status CheckSearchInputs(const PlanContext& ctx, const Goal& goal);

// Candidate global micro-batch sizes for the options (divisors of the global batch).
std::vector<int> MicroBatchCandidates(const ModelSpec& model, const SearchOptions& o);

// The replica-group choices of one stage for micro-batch `micro_batch` allowed by `o` and the
// cluster: every (pool, tp, dp) with dp | micro_batch, and with o.max_mixed_replicas > 0 every
// pair of pools with the same tp and power-of-two replica counts (at most that many replicas in
// all), the micro-batch split between them so that the slower replica is as fast as it can be.
std::vector<std::vector<ReplicaGroup>> StageChoices(const PlanContext& ctx, const SearchOptions& o,
                                                    int micro_batch, LayerTimeCache* cache);

// Builds the configurations for `micro_batch` allowed by `o` and the cluster.
SpaceForBatch BuildSpace(const PlanContext& ctx, const SearchOptions& o, int micro_batch,
                         LayerTimeCache* cache);

// Scores cheap good plans of the space into `res` (which keeps the best), to start the branch and
// bound with a tight bound (seed_plans.cc): uniform ones (one configuration, even layer split)
// and tau-balanced ones (greedy covers at a stage-time target), the latter until `deadline`:
// each pool's configuration the one covering the most layers, and with `more` also variants
// that follow the relaxation's configurations, weigh each stage as some layers (fewer, larger
// stages: less fill) and cap a stage's tail; the orders over the most pools first.
void SeedUniformPlans(const PlanContext& ctx, const Goal& goal, const SearchOptions& o,
                      const SpaceForBatch& sp, SearchResult* res);
void SeedBalancedPlans(
    const PlanContext& ctx, const Goal& goal, const SearchOptions& o, const SpaceForBatch& sp,
    const ModelPrefix& pre, bool more, SearchResult* res,
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max());

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
