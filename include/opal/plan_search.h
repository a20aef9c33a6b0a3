// Plan search: the best plan for a goal over the space
//   global micro-batch b (divides the global batch) x number of stages x for each stage: layer
//   range, pool, tensor-parallel degree t (power of two <= GPUs per node), data-parallel degree
//   d (divides b) -- or two replica groups on two pools with the same t and power-of-two counts
//   (heterogeneous data parallelism, the micro-batch split so the slower replica is as fast as it
//   can be) -- with the GPUs of every pool summed over stages at most its count,
// scored by EstimatePlan/Objective (plan.h). The search is a depth-first branch and bound over
// stages with exact lower bounds and dominance pruning, so it returns the same optimum as
// BruteForce, which enumerates the same space plan by plan (for tests, small cases only).
#pragma once

#include <vector>

#include "opal/plan.h"

namespace opal::plan {

struct SearchOptions {
  int max_stages = 0;  // 0: no limit but the layer count
  int max_tp = 8;      // tensor-parallel degrees 1, 2, 4, ... up to this and the node size
  std::vector<int> micro_batches;   // candidate b; empty: every divisor of the global batch
  int max_micro_batch = 512;        // cap on b when micro_batches is empty
  bool allow_heterogeneous = true;  // false: a plan uses one pool
  // Stages whose replicas sit on two pools, with at most this many replicas (0 or 1: none).
  int max_mixed_replicas = 4;
  int only_pool = -1;       // >= 0: restrict to this pool (the homogeneous baselines)
  int pareto_points = 8;    // cost caps tried for the time/cost front
  std::vector<Plan> seeds;  // plans to start from (their value bounds the search)
  // Stop the branch and bound after this many seconds and return the best plan found so far
  // (SearchStats::complete tells whether optimality was proven). 0: no limit (exact).
  double time_limit_s = 0;
  // Threads for the independent parts of a search (the micro-batch sizes' bounds and seeds) and
  // of a report (its searches). 0: the CPUs the process may run on. The result without a time
  // limit does not depend on it.
  int threads = 0;
};

struct SearchStats {
  double seconds = 0;
  bool complete = true;  // the search finished: the result is the optimum of the space
  // A lower bound on the goal's value over the whole space (when !complete, the best plan is
  // within objective / lower_bound of the optimum).
  double lower_bound = 0;
  long long nodes = 0;  // stage choices evaluated
  long long pruned = 0;
};

struct SearchResult {
  bool found = false;
  Plan best;
  double objective = 0;
  SearchStats stats;
};

// Best plan for `goal`. Returns found=false when no plan fits memory and the goal's
// constraint; errors only for a malformed context (no pools, no layers).
Result<SearchResult> SearchPlan(const PlanContext& ctx, const Goal& goal,
                                const SearchOptions& options = {});

// The same optimum by plain enumeration. Exponential: only for <= ~8 layers and <= ~8 GPUs.
Result<SearchResult> BruteForcePlan(const PlanContext& ctx, const Goal& goal,
                                    const SearchOptions& options = {});

// Full report for a goal: best plan, best homogeneous plan per pool (throughput-optimal under
// the same goal), the time/cost Pareto front (each point the fastest plan under a price cap).
struct PlanReport {
  Goal goal;
  SearchResult best;
  std::vector<SearchResult> homogeneous;  // one per pool, same order as Cluster::pools
  std::vector<Plan> pareto;               // increasing cost per iteration, decreasing time
  double seconds = 0;
};
Result<PlanReport> MakePlanReport(const PlanContext& ctx, const Goal& goal,
                                  const SearchOptions& options = {});

}  // namespace opal::plan
