#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <random>
#include <set>

#include "opal/log.h"
#include "opal/tuning_search.h"
#include "opal/tuning_transfer.h"

namespace opal {
namespace {

using Clock = std::chrono::steady_clock;

// Measured configs with their speed; the population of the evolutionary search.
struct Scored {
  double gflops;
  Config config;
};

class CandidateSource {
 public:
  CandidateSource(const ConfigSpace& space, const SearchOptions& o, std::mt19937_64& rng,
                  std::set<std::string>& measured)
      : space_(space), o_(o), rng_(rng), measured_(measured) {}

  void AddResult(const Config& c, double gflops) {
    if (gflops <= 0) return;
    population_.push_back({gflops, c});
    std::sort(population_.begin(), population_.end(),
              [](const Scored& a, const Scored& b) { return a.gflops > b.gflops; });
    if (static_cast<int>(population_.size()) > std::max(1, o_.population))
      population_.resize(o_.population);
  }

  // One unmeasured valid config, or nullopt when none could be found (space exhausted).
  std::optional<Config> Next(const Workload& w) {
    if (!o_.rank) return Draw();
    std::vector<Config> pool;
    std::set<std::string> seen;
    for (int i = 0;
         i < std::max(1, o_.rank_pool) * 4 && static_cast<int>(pool.size()) < o_.rank_pool; ++i) {
      auto c = Draw();
      if (!c) break;
      if (seen.insert(c->CanonicalJson()).second) pool.push_back(*c);
    }
    if (pool.empty()) return std::nullopt;
    std::vector<double> scores = o_.rank(w, pool);
    if (scores.size() != pool.size()) return pool.front();
    return pool[std::max_element(scores.begin(), scores.end()) - scores.begin()];
  }

 private:
  std::optional<Config> Draw() {
    for (int attempt = 0; attempt < 500; ++attempt) {
      std::optional<Config> c = o_.strategy == "random" ? space_.Sample(rng_) : Evolve();
      if (!c) continue;
      if (!measured_.count(c->CanonicalJson())) return c;
    }
    return std::nullopt;
  }

  const Config& Tournament() {
    std::uniform_int_distribution<size_t> pick(0, population_.size() - 1);
    size_t a = pick(rng_), b = pick(rng_);
    return population_[std::min(a, b)].config;  // sorted: lower index is faster
  }

  std::optional<Config> Evolve() {
    std::uniform_real_distribution<double> coin(0, 1);
    if (population_.empty() || coin(rng_) < o_.explore) return space_.Sample(rng_);
    if (population_.size() >= 2 && coin(rng_) < 0.3) {
      auto child = space_.Crossover(Tournament(), Tournament(), rng_);
      if (child && (coin(rng_) < 0.5 || measured_.count(child->CanonicalJson()))) {
        if (auto m = space_.Mutate(*child, rng_)) return m;
      }
      if (child) return child;
    }
    return space_.Mutate(Tournament(), rng_);
  }

  const ConfigSpace& space_;
  const SearchOptions& o_;
  std::mt19937_64& rng_;
  std::set<std::string>& measured_;
  std::vector<Scored> population_;
};

}  // namespace

Result<std::vector<StoredConfig>> BestStoredConfigs(const TuningFramework& fw, RecordStore& store,
                                                    const Workload& w, const Target& t, int k) {
  OPAL_ASSIGN_OR_RETURN(ConfigSpace space, fw.Space(w, t));
  TopKQuery q;
  q.workload_key = w.Key();
  q.target_key = t.ExactKey();
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

double MedianOf(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

std::vector<std::vector<double>> RetimeSideBySide(TuningFramework& fw, const Workload& w, const Target& t,
                                                  const std::vector<Config>& configs, int rounds,
                                                  std::vector<std::string>* errors) {
  std::vector<std::vector<double>> out(configs.size());
  if (errors) errors->assign(configs.size(), "");
  MeasureOptions mo;
  mo.seed = 1;
  for (int r = 0; r < rounds; ++r) {
    for (size_t j = 0; j < configs.size(); ++j) {
      const size_t i = (j + static_cast<size_t>(r)) % configs.size();
      TrialResult tr = fw.Measure(w, configs[i], t, mo);
      if (tr.status == TrialStatus::kOk && !tr.times_s.empty()) {
        out[i].push_back(MedianOf(tr.times_s));
      } else if (errors) {
        (*errors)[i] = std::string(TrialStatusName(tr.status)) + ": " + tr.error;
      }
    }
  }
  return out;
}

Result<TuneResult> TuneWorkload(TuningFramework& fw, const Workload& w, const Target& t,
                                RecordStore& store, const SearchOptions& o) {
  if (o.strategy != "random" && o.strategy != "evolutionary") {
    return Error(ErrorCode::kInvalidArgument, "unknown search strategy '{}' (random, evolutionary)",
                 o.strategy);
  }
  OPAL_ASSIGN_OR_RETURN(ConfigSpace space, fw.Space(w, t));
  const auto start = Clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  std::mt19937_64 rng(o.seed ? o.seed : std::random_device{}());

  OPAL_ASSIGN_OR_RETURN(std::set<std::string> measured,
                        store.MeasuredConfigs(w.Key(), t.ExactKey(), fw.Name(), fw.Version()));
  CandidateSource source(space, o, rng, measured);

  TuneResult result;
  TuneProgress progress;
  progress.max_trials = o.max_trials;
  // Seed the population and the best with what the store already knows for this exact target.
  OPAL_ASSIGN_OR_RETURN(std::vector<StoredConfig> top,
                        BestStoredConfigs(fw, store, w, t, std::max(1, o.population)));
  for (const StoredConfig& sc : top) {
    if (sc.record.framework_version != fw.Version()) continue;
    source.AddResult(sc.config, sc.record.gflops);
    if (!result.best || sc.record.gflops > result.best->gflops) result.best = sc.record;
  }
  progress.best_gflops = result.best ? result.best->gflops : 0;

  std::vector<Config> queue;
  if (o.try_default_first) {
    for (const Config& c : fw.SeedConfigs(w, t)) {
      if (space.Contains(c) && !measured.count(c.CanonicalJson())) queue.push_back(c);
    }
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
      cand = source.Next(w);
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
    if (rec.status == TrialStatus::kOk) {
      source.AddResult(*cand, rec.gflops);
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
