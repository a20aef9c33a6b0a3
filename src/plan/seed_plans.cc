// First incumbents for the branch and bound: cheap plans that are usually close to the best, so
// that pruning starts at once. They never change the optimum, only how fast it is proven.
//  - uniform: every stage on one configuration, layers split evenly, for every stage count;
//  - balanced: for an ordered subset of 2-3 pools and a stage-time target tau, stages are filled
//    greedily from the last layer backwards, each pool with the configuration that covers the
//    most layers; tau is bisected and every feasible plan met is scored.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "opal/log.h"
#include "plan/cost_terms.h"
#include "plan/iteration_terms.h"
#include "plan/search_space.h"

namespace opal::plan {
namespace {

void Consider(const PlanContext& ctx, const Goal& goal, Plan p, SearchResult* res) {
  if (!EstimatePlan(ctx, &p).ok()) return;
  double v = Objective(goal, *ctx.model, p);
  if (v < res->objective) {
    res->objective = v;
    res->best = std::move(p);
    res->found = true;
  }
}

// Greedy cover from the last layer for one pool order; true when all layers are covered. Only
// single-pool configurations take part.
bool BalancedCover(const PlanContext& ctx, const SpaceForBatch& sp, const ModelPrefix& pre,
                   const std::vector<int>& order, double tau, double per_stage, double tail_cap,
                   const std::vector<int>* forced, Plan* out) {
  const ModelSpec& m = *ctx.model;
  int a = static_cast<int>(m.layers.size()), r = 0;
  std::vector<StagePlan> rev;  // last stage first
  std::vector<const StageConfig*> rev_cfg;
  for (auto it = order.rbegin(); it != order.rend() && a > 0; ++it) {
    const Pool& pool = ctx.cluster->pools[*it];
    int best_a = a, best_gpus = 0;
    double best_score = a;
    std::vector<StagePlan> best_stages;
    std::vector<const StageConfig*> best_cfgs;
    for (const auto& c : sp.configs) {
      if (c.groups.size() != 1 || c.groups[0].pool != *it) continue;
      if (forced && (*forced)[*it] != static_cast<int>(&c - sp.configs.data())) continue;
      const std::vector<GroupAt> here = GroupsAt(ctx, c);
      int stages = pool.count / c.gpus, x = a, rr = r;
      std::vector<StagePlan> st;
      std::vector<const StageConfig*> cfgs;
      const StageConfig* next = rev_cfg.empty() ? nullptr : rev_cfg.back();
      while (stages-- > 0 && x > 0) {
        // Blocking sends and receives count against tau: toward the next stage (known) and
        // from the previous one (assumed on the same configuration).
        const StageConfig* nx = cfgs.empty() ? next : cfgs.back();
        double comm = nx ? 2 * P2pSeconds(here, GroupsAt(ctx, *nx), m.layers[x - 1].out_bytes,
                                          ctx.options.p2p_split_by_tp)
                         : 0;
        int f = x;
        while (f > 0) {
          double in = f - 1 > 0 ? 2 * P2pSeconds(here, here, m.layers[f - 2].out_bytes,
                                                 ctx.options.p2p_split_by_tp)
                                : 0;
          bool fits = true;
          ConfigMemory(ctx, pre, c, f - 1, x, InFlight(sp.num_micro, rr + 1), &fits);
          if (!fits || c.Fb(f - 1, x) + comm + in > tau) break;
          if (f < x && GradAllReduceSeconds(here, pre.Params(m, f - 1, x) * m.dtype_bytes,
                                            ctx.options.hierarchical_allreduce) +
                               c.Update(f - 1, x) >
                           tail_cap)
            break;  // the stage's all-reduce and step would exceed the cap
          --f;
        }
        if (f == x) break;  // not even one layer fits
        st.push_back(c.MakeStage(f, x));
        cfgs.push_back(&c);
        x = f;
        ++rr;
      }
      int gpus = static_cast<int>(st.size()) * c.gpus;
      // Layers left, plus `per_stage` layers' worth for every stage (each adds about a cycle to
      // the pipeline's fill): 0 covers the most layers.
      const double score = x + per_stage * static_cast<double>(st.size());
      if (score < best_score || (score == best_score && !st.empty() && gpus < best_gpus)) {
        best_score = score;
        best_a = x;
        best_gpus = gpus;
        best_stages = st;
        best_cfgs = cfgs;
      }
    }
    a = best_a;
    r += static_cast<int>(best_stages.size());
    rev.insert(rev.end(), best_stages.begin(), best_stages.end());
    rev_cfg.insert(rev_cfg.end(), best_cfgs.begin(), best_cfgs.end());
  }
  if (a > 0 || rev.empty()) return false;
  out->stages.assign(rev.rbegin(), rev.rend());
  out->micro_batch = sp.micro_batch;
  return true;
}

}  // namespace

void SeedUniformPlans(const PlanContext& ctx, const Goal& goal, const SearchOptions& o,
                      const SpaceForBatch& sp, SearchResult* res) {
  const int L = static_cast<int>(ctx.model->layers.size());
  const int stage_cap = o.max_stages > 0 ? o.max_stages : L;
  for (const auto& c : sp.configs) {
    int max_s = std::min(L, stage_cap);
    for (const auto& g : c.groups)
      max_s = std::min(max_s, ctx.cluster->pools[g.pool].count / (g.tp * g.count));
    // Every stage count when there are few; else a geometric ladder from the most (a uniform
    // plan mostly gains from more stages) down to one.
    std::vector<int> stage_counts;
    for (double x = max_s; x >= 1; x = max_s > 16 ? x * 0.75 : x - 1)
      if (stage_counts.empty() || static_cast<int>(x) != stage_counts.back())
        stage_counts.push_back(static_cast<int>(x));
    for (int S : stage_counts) {
      Plan p;
      p.micro_batch = sp.micro_batch;
      for (int s = 0; s < S; ++s)
        p.stages.push_back(c.MakeStage(static_cast<int>(1LL * L * s / S),
                                       static_cast<int>(1LL * L * (s + 1) / S)));
      Consider(ctx, goal, p, res);
    }
  }
}

void SeedBalancedPlans(const PlanContext& ctx, const Goal& goal, const SearchOptions& o,
                       const SpaceForBatch& sp, const ModelPrefix& pre, bool more,
                       SearchResult* res, std::chrono::steady_clock::time_point deadline) {
  const int L = static_cast<int>(ctx.model->layers.size());
  const int stage_cap = o.max_stages > 0 ? o.max_stages : L;
  // Subsets of up to three pools used by the space, each in two orders: most memory first
  // (early stages keep more micro-batches in flight) and fastest first.
  std::vector<int> pools;
  for (const auto& c : sp.configs)
    for (const auto& g : c.groups)
      if (std::find(pools.begin(), pools.end(), g.pool) == pools.end()) pools.push_back(g.pool);
  if (pools.size() < 2) return;
  const auto& P = ctx.cluster->pools;
  std::vector<std::vector<int>> orders;
  const int n = static_cast<int>(pools.size());
  // Larger clusters: the 4, 5, ... pools that do the most work per GPU (SpaceForBatch::pool_rate),
  // in the two orders below, so that plans over more than three GPU types are tried too; first,
  // as they use the most GPUs (with a deadline, they are the ones tried).
  std::vector<int> by_rate = pools;
  std::stable_sort(by_rate.begin(), by_rate.end(),
                   [&](int x, int y) { return sp.pool_rate[x] > sp.pool_rate[y]; });
  for (int k = 4; k <= n; ++k) {
    std::vector<int> sub(by_rate.begin(), by_rate.begin() + k);
    std::stable_sort(sub.begin(), sub.end(),
                     [&](int x, int y) { return P[x].gpu.memory > P[y].gpu.memory; });
    orders.push_back(sub);
    std::stable_sort(sub.begin(), sub.end(),
                     [&](int x, int y) { return sp.pool_rate[x] > sp.pool_rate[y]; });
    if (sub != orders.back()) orders.push_back(sub);
  }
  for (int mask = 1; mask < (1 << n); ++mask) {
    if (__builtin_popcount(static_cast<unsigned>(mask)) < 2 ||
        __builtin_popcount(static_cast<unsigned>(mask)) > 3)
      continue;
    std::vector<int> sub;
    for (int i = 0; i < n; ++i)
      if (mask & (1 << i)) sub.push_back(pools[i]);
    std::stable_sort(sub.begin(), sub.end(),
                     [&](int x, int y) { return P[x].gpu.memory > P[y].gpu.memory; });
    orders.push_back(sub);
    std::stable_sort(sub.begin(), sub.end(),
                     [&](int x, int y) { return P[x].gpu.tensor_flops > P[y].gpu.tensor_flops; });
    if (sub != orders.back()) orders.push_back(sub);
  }
  double hi = 0;
  for (const auto& c : sp.configs) hi = std::max(hi, c.Fb(0, L));
  std::vector<int> counts;
  for (const auto& p : ctx.cluster->pools) counts.push_back(p.count);
  const double lo = std::max(1e-9, std::min(sp.CycleBound(L, counts), hi));
  // Per-stage weights: 0 packs the most layers into each pool (its most efficient
  // configuration, often many small stages); larger ones prefer fewer, larger stages (less fill).
  // A stage's tail (all-reduce and step) adds to the iteration once: capped at a share of the
  // cycles' total, stages on slow networks take fewer layers.
  // The relaxed variants: every pool on the configuration the lower bound's relaxation prices
  // cheapest (time_bound.h), stages' tails uncapped or capped at the relaxation's tail; first,
  // over all the pools it uses and over the pool subsets.
  struct Variant {
    double per_stage, tail_share;
    bool relaxed;
  };
  static const std::vector<Variant> kFirst = {{0, 0, false}},
                                    kMore = {{0, 0, true},     {0, -1, true},   {1, 0, false},
                                             {1, 0.06, false}, {0.5, 0, false}, {4, 0, false},
                                             {1, 0.03, false}, {4, 0.03, false}};
  const auto& variants = more ? kMore : kFirst;
  const bool relaxed = more && !sp.relaxed_config.empty();
  if (relaxed) {
    std::vector<int> sub;
    for (int p : pools)
      if (sp.relaxed_config[p] >= 0) sub.push_back(p);
    std::stable_sort(sub.begin(), sub.end(),
                     [&](int x, int y) { return P[x].gpu.memory > P[y].gpu.memory; });
    orders.insert(orders.begin(), sub);
  }
  const double inf = std::numeric_limits<double>::infinity();
  for (const auto& order : orders) {
    if (std::chrono::steady_clock::now() > deadline) break;
    for (const auto& [per_stage, tail_share, forced] : variants) {
      if (forced && !relaxed) continue;
      double a = lo, b = hi * 1.01;
      for (int it = 0; it < 40 && b / a > 1.0005; ++it) {
        double tau = std::sqrt(a * b);
        Plan p;
        const double tail_cap = tail_share > 0   ? tail_share * sp.num_micro * tau
                                : tail_share < 0 ? sp.relaxed_tail
                                                 : inf;
        if (BalancedCover(ctx, sp, pre, order, tau, per_stage, tail_cap,
                          forced ? &sp.relaxed_config : nullptr, &p) &&
            static_cast<int>(p.stages.size()) <= stage_cap) {
          if (log::GetLevel() <= log::Level::kDebug) {
            Plan q = p;
            if (EstimatePlan(ctx, &q).ok())
              log::Debug(
                  "seed b={} tau={:.3f} v={}/{}/{} pools={}: {} stages, {} GPUs, T={:.2f} fits={}",
                  sp.micro_batch, tau, per_stage, tail_share, forced, order.size(), q.stages.size(),
                  q.Gpus(), q.iter_time, q.fits_memory);
          }
          Consider(ctx, goal, p, res);
          b = tau;
        } else {
          a = tau;
        }
      }
    }
  }
}

}  // namespace opal::plan
