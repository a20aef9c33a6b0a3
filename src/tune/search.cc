#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <set>

#include "opal/log.h"
#include "opal/tuning_search.h"
#include "opal/tuning_transfer.h"

namespace opal {
namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

Result<std::vector<StoredConfig>> BestStoredConfigs(const TuningFramework& fw, RecordStore& store,
                                                    const Workload& w, const Target& t, int k, bool coarse) {
  OPAL_ASSIGN_OR_RETURN(ConfigSpace space, fw.Space(w, t));
  TopKQuery q;
  q.workload_key = w.Key();
  q.target_key = t.ExactKey();
  q.coarse_fallback = coarse;
  q.target_coarse_key = t.CoarseKey();
  q.framework = fw.Name();
  q.framework_version = fw.Version();
  q.k = k;
  OPAL_ASSIGN_OR_RETURN(std::vector<Record> top, store.TopK(q));
  std::vector<StoredConfig> out;
  for (Record& r : top) {
    auto c = space.Parse(r.config_json);
    if (c.ok()) out.push_back({std::move(r), std::move(*c)});
  }
  return out;
}

std::vector<size_t> OneOfEachForm(const TuningFramework& fw, const std::vector<StoredConfig>& ranked, int k) {
  const size_t want = static_cast<size_t>(std::max(0, k));
  std::vector<size_t> out;
  std::vector<bool> taken(ranked.size(), false);
  std::set<std::string> forms;
  for (size_t i = 0; i < ranked.size() && out.size() < want; ++i)
    if (forms.insert(fw.FormOf(ranked[i].config)).second) {
      out.push_back(i);
      taken[i] = true;
    }
  for (size_t i = 0; i < ranked.size() && out.size() < want; ++i)
    if (!taken[i]) out.push_back(i);
  std::sort(out.begin(), out.end());
  return out;
}

double MedianOf(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

std::vector<std::vector<double>> RetimeSideBySide(TuningFramework& fw, const Workload& w,
                                                  const Target& t,
                                                  const std::vector<Config>& configs, int rounds,
                                                  std::vector<std::string>* errors) {
  MeasureOptions mo;
  mo.seed = 1;
  return fw.MeasureSideBySide(w, configs, t, mo, rounds, errors);
}

size_t FastestSideBySide(const std::vector<std::vector<double>>& times, double* relative) {
  const size_t n = times.size();
  // The rounds every config with times ran in (a config's times are its first rounds).
  size_t complete = std::numeric_limits<size_t>::max(), live = 0;
  for (const auto& v : times)
    if (!v.empty()) complete = std::min(complete, v.size()), ++live;
  std::vector<double> score(n, std::numeric_limits<double>::infinity());
  for (size_t i = 0; i < n; ++i) {
    if (times[i].empty()) continue;
    if (live < 2) {
      score[i] = 1.0;
      continue;
    }
    std::vector<double> ratios;  // this config's time over the round's fastest, per round
    for (size_t r = 0; r < complete; ++r) {
      double fastest = std::numeric_limits<double>::infinity();
      for (const auto& v : times)
        if (!v.empty()) fastest = std::min(fastest, v[r]);
      ratios.push_back(times[i][r] / std::max(fastest, 1e-12));
    }
    score[i] = MedianOf(ratios);
  }
  size_t best = n;
  for (size_t i = 0; i < n; ++i)
    if (!times[i].empty() && (best == n || score[i] < score[best])) best = i;
  if (relative && best < n) *relative = score[best];
  return best;
}

Result<TuneResult> TuneWorkload(TuningFramework& fw, const Workload& w, const Target& t,
                                RecordStore& store, const SearchOptions& o) {
  OPAL_ASSIGN_OR_RETURN(ConfigSpace space, fw.Space(w, t));
  const auto start = Clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  std::mt19937_64 rng(o.seed ? o.seed : std::random_device{}());

  OPAL_ASSIGN_OR_RETURN(std::set<std::string> measured,
                        store.MeasuredConfigs(w.Key(), t.ExactKey(), fw.Name(), fw.Version()));
  SearchContext ctx{&space, &measured, &rng, o.population, o.explore};
  OPAL_ASSIGN_OR_RETURN(std::unique_ptr<SearchStrategy> strategy,
                        o.make_strategy ? o.make_strategy(ctx) : MakeSearchStrategy(o.strategy, ctx));
  if (o.rank) strategy = MakeModelGuidedStrategy(std::move(strategy), o.rank, o.rank_pool);

  TuneResult result;
  TuneProgress progress;
  progress.max_trials = o.max_trials;
  // Seed the population and the best with what the store already knows for this exact target.
  OPAL_ASSIGN_OR_RETURN(std::vector<StoredConfig> top,
                        BestStoredConfigs(fw, store, w, t, std::max(1, o.population)));
  for (const StoredConfig& sc : top) {
    if (sc.record.framework_version != fw.Version()) continue;
    strategy->Observe(sc.config, sc.record.gflops);
    if (!result.best || sc.record.gflops > result.best->gflops) result.best = sc.record;
  }
  progress.best_gflops = result.best ? result.best->gflops : 0;

  std::vector<Config> queue;
  if (o.coarse > 0) {
    const int n = std::min(o.coarse, std::max(1, o.max_trials / 4));
    OPAL_ASSIGN_OR_RETURN(std::vector<StoredConfig> pool,
                          BestStoredConfigs(fw, store, w, t, static_cast<int>(top.size()) + 4 * n, /*coarse=*/true));
    std::vector<StoredConfig> travelled;
    for (StoredConfig& sc : pool)
      if (sc.record.target_key != t.ExactKey() && !measured.count(sc.config.CanonicalJson()))
        travelled.push_back(std::move(sc));
    for (size_t i : OneOfEachForm(fw, travelled, n)) {
      const Config& c = travelled[i].config;
      if (std::find(queue.begin(), queue.end(), c) == queue.end()) queue.push_back(c);
    }
    if (!queue.empty()) log::Debug("{}: {} configs of machines of this kind to measure first", w.Key(), queue.size());
  }
  if (o.try_default_first) {
    for (const Config& c : fw.SeedConfigs(w, t)) {
      if (space.Contains(c) && !measured.count(c.CanonicalJson()) &&
          std::find(queue.begin(), queue.end(), c) == queue.end())
        queue.push_back(c);
    }
  }
  if (o.revalidate > 0) {
    OPAL_ASSIGN_OR_RETURN(std::vector<Config> old, OlderVersionConfigs(fw, store, w, t, o.revalidate));
    for (Config& c : old) {
      if (!measured.count(c.CanonicalJson()) && std::find(queue.begin(), queue.end(), c) == queue.end())
        queue.push_back(std::move(c));
    }
    log::Debug("{}: {} configs of older framework versions to re-measure", w.Key(), old.size());
  }
  if (o.transfer > 0 && o.max_trials >= 4) {
    OPAL_ASSIGN_OR_RETURN(std::vector<Config> near,
                          TransferConfigs(fw, store, w, t, std::min(o.transfer, o.max_trials / 4)));
    for (Config& c : near) {
      if (!measured.count(c.CanonicalJson()) && std::find(queue.begin(), queue.end(), c) == queue.end())
        queue.push_back(std::move(c));
    }
    log::Debug("{}: {} configs transferred from the nearest workloads in the store", w.Key(), near.size());
  }
  int since_improvement = 0;
  result.stop_reason = "trials";
  while (result.trials < o.max_trials) {
    if (o.time_budget_s > 0 && result.trials > 0 && elapsed() >= o.time_budget_s) {
      result.stop_reason = "time";
      break;
    }
    if (o.early_stop > 0 && since_improvement >= o.early_stop) {
      result.stop_reason = "early stop";
      break;
    }
    std::optional<Config> cand;
    if (!queue.empty()) {
      cand = queue.front();
      queue.erase(queue.begin());
    } else {
      cand = strategy->Propose(w);
    }
    if (!cand) {
      result.stop_reason = "space exhausted";
      break;
    }
    measured.insert(cand->CanonicalJson());
    TrialResult tr = fw.Measure(w, *cand, t, o.measure);
    Record rec = MakeTrialRecord(fw, w, t, *cand, tr, o.worker_id);
    OPAL_ASSIGN_OR_RETURN(int64_t added, store.Put({rec}));
    (void)added;
    ++result.trials;
    ++since_improvement;
    progress.trial = result.trials;
    progress.last_status = rec.status;
    progress.last_error = rec.error;
    progress.last_gflops = rec.gflops;
    strategy->Observe(*cand, rec.status == TrialStatus::kOk ? rec.gflops : 0);
    if (rec.status == TrialStatus::kOk) {
      if (!result.best || rec.gflops > result.best->gflops) {
        result.best = rec;
        since_improvement = 0;
      }
    } else {
      ++result.failed;
      log::Debug("trial {} of {} failed ({}): {}", result.trials, w.Key(),
                 TrialStatusName(rec.status), rec.error);
    }
    progress.failed = result.failed;
    progress.best_gflops = result.best ? result.best->gflops : 0;
    progress.elapsed_s = elapsed();
    if (o.on_trial) o.on_trial(progress);
  }
  result.elapsed_s = elapsed();
  return result;
}

std::vector<TaskBudget> SplitBudget(const TaskList& tasks, int total_trials, double total_time_s,
                                    int min_trials) {
  std::vector<TaskBudget> b;
  for (const Task& t : tasks.tasks) {
    TaskBudget tb;
    tb.trials = std::max(min_trials, static_cast<int>(std::lround(total_trials * t.share)));
    tb.time_s = total_time_s > 0 ? total_time_s * t.share : 0;
    b.push_back(tb);
  }
  return b;
}

}  // namespace opal
