// Plain enumeration of the plan space, scored plan by plan with EstimatePlan: the reference the
// branch-and-bound search is tested against. Exponential; small cases only.
#include <chrono>
#include <limits>

#include "opal/plan_search.h"
#include "plan/search_space.h"

namespace opal::plan {
namespace {

struct Enumerator {
  Enumerator(const PlanContext& c, const Goal& g, const SearchOptions& opt)
      : ctx(c), goal(g), o(opt) {}
  const PlanContext& ctx;
  const Goal& goal;
  const SearchOptions& o;
  int L = 0, max_stages = 0;
  Plan cur;
  std::vector<int> used;
  SearchResult res;

  void Stage(int a) {
    if (a == L) {
      Plan p = cur;
      ++res.stats.nodes;
      if (!EstimatePlan(ctx, &p).ok()) return;
      double v = Objective(goal, *ctx.model, p);
      if (v < res.objective) {
        res.objective = v;
        res.best = p;
        res.found = true;
      }
      return;
    }
    if (static_cast<int>(cur.stages.size()) == max_stages) return;
    const auto& pools = ctx.cluster->pools;
    for (int e = a + 1; e <= L; ++e) {
      for (int p = 0; p < static_cast<int>(pools.size()); ++p) {
        if (o.only_pool >= 0 && p != o.only_pool) continue;
        for (int tp = 1; tp <= std::min(o.max_tp, pools[p].instance.gpus_per_node); tp *= 2) {
          for (int dp = 1; dp <= cur.micro_batch; ++dp) {
            if (cur.micro_batch % dp != 0 || used[p] + dp * tp > pools[p].count) continue;
            StagePlan s;
            s.first = a;
            s.end = e;
            s.pool = p;
            s.tp = tp;
            s.dp = dp;
            cur.stages.push_back(s);
            used[p] += dp * tp;
            Stage(e);
            used[p] -= dp * tp;
            cur.stages.pop_back();
          }
        }
      }
    }
  }
};

}  // namespace

Result<SearchResult> BruteForcePlan(const PlanContext& ctx, const Goal& goal,
                                    const SearchOptions& options) {
  OPAL_RETURN_IF_ERROR(CheckSearchInputs(ctx, goal));
  auto t0 = std::chrono::steady_clock::now();
  Enumerator en(ctx, goal, options);
  en.L = static_cast<int>(ctx.model->layers.size());
  en.max_stages = options.max_stages > 0 ? options.max_stages : en.L;
  en.used.assign(ctx.cluster->pools.size(), 0);
  en.res.objective = std::numeric_limits<double>::infinity();
  for (int b : MicroBatchCandidates(*ctx.model, options)) {
    en.cur = Plan{};
    en.cur.micro_batch = b;
    en.Stage(0);
  }
  en.res.stats.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return en.res;
}

}  // namespace opal::plan
