// Plain enumeration of the plan space, scored plan by plan with EstimatePlan: the reference the
// branch-and-bound search is tested against (layer ranges x stage choices x stage counts, no
// bounds, no prefix sums). Exponential; small cases only.
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

  std::vector<std::vector<ReplicaGroup>> choices;  // of one stage, for the current micro-batch

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
      for (const auto& groups : choices) {
        bool room = true;
        for (const auto& g : groups)
          room = room && used[g.pool] + g.tp * g.count <= pools[g.pool].count;
        if (!room) continue;
        StagePlan s;
        s.first = a;
        s.end = e;
        s.pool = groups[0].pool;
        s.tp = groups[0].tp;
        s.dp = 0;
        for (const auto& g : groups) s.dp += g.count;
        if (groups.size() > 1) s.mixed = groups;
        cur.stages.push_back(s);
        for (const auto& g : groups) used[g.pool] += g.tp * g.count;
        Stage(e);
        for (const auto& g : groups) used[g.pool] -= g.tp * g.count;
        cur.stages.pop_back();
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
  LayerTimeCache cache(ctx);
  for (int b : MicroBatchCandidates(*ctx.model, options)) {
    en.cur = Plan{};
    en.cur.micro_batch = b;
    // The same per-stage choices as the search (one pool and dp | b, or two pools' replica
    // groups with the search's split); every combination of them is scored plan by plan.
    en.choices = StageChoices(ctx, options, b, &cache);
    en.Stage(0);
  }
  en.res.stats.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return en.res;
}

}  // namespace opal::plan
