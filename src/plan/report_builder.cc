// MakePlanReport: the best plan, the homogeneous baselines and the time/cost front.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>
#include <utility>

#include "opal/plan_search.h"
#include "plan/parallel.h"

namespace opal::plan {

Result<PlanReport> MakePlanReport(const PlanContext& ctx, const Goal& goal,
                                  const SearchOptions& options) {
  auto t0 = std::chrono::steady_clock::now();
  PlanReport rep;
  rep.goal = goal;
  SearchOptions hetero = options;
  // With a time limit, the baselines and the front get a quarter of it each and run side by side
  // on the threads (6 baselines on 2 threads: 0.75 limits before the mixed search), the front's
  // intermediate points stop at four limits: the mixed search keeps the full limit.
  const double side_limit = options.time_limit_s > 0 ? options.time_limit_s / 4 : 0;
  // The searches of a phase run side by side, each on its share of the threads.
  const int threads = options.threads > 0 ? options.threads : DefaultPlanThreads();
  auto side_by_side = [&](std::vector<std::pair<Goal, SearchOptions>> jobs,
                          std::vector<SearchResult>* out) -> Status {
    const int n = static_cast<int>(jobs.size());
    std::vector<std::optional<Result<SearchResult>>> got(jobs.size());
    ParallelFor(n, threads, [&](int i) {
      jobs[i].second.threads = std::max(1, threads / std::max(1, n));
      got[i] = SearchPlan(ctx, jobs[i].first, jobs[i].second);
    });
    for (auto& r : got) {
      if (!r->ok()) return r->status();
      out->push_back(std::move(**r));
    }
    return Status::Ok();
  };
  std::vector<std::pair<Goal, SearchOptions>> baselines;
  for (int p = 0; p < static_cast<int>(ctx.cluster->pools.size()); ++p) {
    if (options.only_pool >= 0 && p != options.only_pool) continue;
    SearchOptions o = options;
    o.only_pool = p;
    o.seeds.clear();
    o.time_limit_s = side_limit;
    baselines.push_back({goal, o});
  }
  OPAL_RETURN_IF_ERROR(side_by_side(std::move(baselines), &rep.homogeneous));
  for (const auto& r : rep.homogeneous)
    if (r.found) hetero.seeds.push_back(r.best);
  if (options.allow_heterogeneous && options.only_pool < 0) {
    OPAL_ASSIGN_OR_RETURN(rep.best, SearchPlan(ctx, goal, hetero));
  } else {
    for (const auto& h : rep.homogeneous)
      if (h.found && (!rep.best.found || h.objective < rep.best.objective)) rep.best = h;
  }
  if (!rep.best.found) {
    rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return rep;
  }
  // Time/cost front: the fastest and the cheapest plans, then the fastest under price caps
  // spread between their prices.
  std::vector<Plan> cands{rep.best.best};
  SearchOptions po = options;
  po.seeds = hetero.seeds;
  po.time_limit_s = side_limit;
  Goal fast{Goal::Kind::kThroughput, 0}, cheap{Goal::Kind::kMinCostPerIter, 0};
  // The goal's own extreme is the best plan already: searching it again would only cost time.
  SearchResult f, c;
  std::vector<std::pair<Goal, SearchOptions>> extremes;
  if (goal.kind != Goal::Kind::kThroughput) extremes.push_back({fast, po});
  if (goal.kind != Goal::Kind::kMinCostPerIter) extremes.push_back({cheap, po});
  std::vector<SearchResult> ends;
  OPAL_RETURN_IF_ERROR(side_by_side(std::move(extremes), &ends));
  size_t e = 0;
  f = goal.kind == Goal::Kind::kThroughput ? rep.best : ends[e++];
  c = goal.kind == Goal::Kind::kMinCostPerIter ? rep.best : ends[e++];
  if (f.found) cands.push_back(f.best);
  if (c.found) cands.push_back(c.best);
  for (const auto& h : rep.homogeneous)
    if (h.found) cands.push_back(h.best);
  if (f.found && c.found && options.pareto_points > 0) {
    double lo = c.best.price_per_hour, hi = f.best.price_per_hour;
    // With a time limit, the front's intermediate points stop once the report has run for four
    // limits (large clusters, where even a search's seeding overruns a quarter limit).
    const auto deadline = t0 + std::chrono::duration<double>(4 * options.time_limit_s);
    std::vector<std::pair<Goal, SearchOptions>> capped;
    for (int i = 1; i <= options.pareto_points && hi > lo * 1.01; ++i) {
      double cap = lo * std::pow(hi / lo, static_cast<double>(i) / (options.pareto_points + 1));
      capped.push_back({Goal{Goal::Kind::kMinTimeHourlyCap, cap}, po});
    }
    // Side by side in rounds of `threads`, the next round only before the deadline.
    for (size_t i = 0; i < capped.size(); i += threads) {
      if (options.time_limit_s > 0 && std::chrono::steady_clock::now() > deadline) break;
      std::vector<std::pair<Goal, SearchOptions>> round(
          capped.begin() + i, capped.begin() + std::min(capped.size(), i + threads));
      std::vector<SearchResult> got;
      OPAL_RETURN_IF_ERROR(side_by_side(std::move(round), &got));
      for (auto& r : got)
        if (r.found) cands.push_back(std::move(r.best));
    }
  }
  std::sort(cands.begin(), cands.end(), [](const Plan& a, const Plan& b) {
    return a.CostPerIter() < b.CostPerIter() ||
           (a.CostPerIter() == b.CostPerIter() && a.iter_time < b.iter_time);
  });
  for (const Plan& p : cands) {
    if (!p.fits_memory) continue;
    if (!rep.pareto.empty() && p.iter_time >= rep.pareto.back().iter_time) continue;  // dominated
    rep.pareto.push_back(p);
  }
  rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return rep;
}

}  // namespace opal::plan
