#include "opal/zero_shot.h"

#include <algorithm>
#include <chrono>
#include <numeric>
#include <random>
#include <set>

#include "opal/cost_model_training.h"
#include "opal/tuning_search.h"
#include "opal/tuning_transfer.h"

namespace opal::costmodel {

Result<ZeroShotResult> ZeroShotTune(TuningFramework& fw, const Workload& w, const Target& t, RecordStore& store,
                                    const CostModel* model, const ZeroShotOptions& o) {
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  OPAL_ASSIGN_OR_RETURN(ConfigSpace space, fw.Space(w, t));
  OPAL_ASSIGN_OR_RETURN(std::set<std::string> measured,
                        store.MeasuredConfigs(w.Key(), t.ExactKey(), fw.Name(), fw.Version()));
  std::mt19937_64 rng(o.seed ? o.seed : std::random_device{}());
  std::vector<Config> configs;
  std::vector<std::string> origin;  // per config: "default", "seed", "transferred", "sampled"
  std::set<std::string> seen = measured;
  auto add = [&](const Config& c, const char* from) {
    if (!seen.insert(c.CanonicalJson()).second) return false;
    configs.push_back(c);
    origin.push_back(from);
    return true;
  };
  const std::vector<Config> seeds = fw.SeedConfigs(w, t);
  const bool default_new = !seeds.empty() && add(seeds[0], "default");
  OPAL_ASSIGN_OR_RETURN(std::vector<Config> near, TransferConfigs(fw, store, w, t, o.transfer, o.coarse));
  const size_t first_transferred = configs.size();
  bool nearest_new = false;
  for (size_t i = 0; i < near.size(); ++i) {
    const bool added = add(near[i], "transferred");
    if (i == 0) nearest_new = added;
  }
  for (size_t i = 1; i < seeds.size(); ++i) add(seeds[i], "seed");
  if (model) {
    for (int tries = 0; static_cast<int>(configs.size()) < o.samples && tries < o.samples * 5; ++tries) {
      auto c = space.Sample(rng);
      if (!c) break;
      add(*c, "sampled");
    }
  }
  ZeroShotResult r;
  r.sampled = static_cast<int>(configs.size());
  // The measuring order: the default, the nearest workload's best, then the rest by the model's
  // score (without a model: as added, nearest transferred first).
  std::vector<size_t> order;
  if (default_new) order.push_back(0);
  if (nearest_new) order.push_back(first_transferred);
  std::vector<size_t> rest;
  for (size_t i = 0; i < configs.size(); ++i)
    if (std::find(order.begin(), order.end(), i) == order.end()) rest.push_back(i);
  if (model) {
    std::vector<std::vector<double>> feats;
    feats.reserve(rest.size());
    for (size_t i : rest) feats.push_back(fw.Features(w, configs[i], t));
    OPAL_ASSIGN_OR_RETURN(std::vector<double> scores, model->Predict(feats, FeatureVersionOf(fw)));
    std::vector<size_t> by(rest.size());
    std::iota(by.begin(), by.end(), 0);
    std::stable_sort(by.begin(), by.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
    for (size_t j : by) order.push_back(rest[j]);
  } else {
    order.insert(order.end(), rest.begin(), rest.end());
  }
  r.rank_s = std::chrono::duration<double>(Clock::now() - t0).count();

  const auto t1 = Clock::now();
  std::vector<std::pair<Record, size_t>>
      ran;  // the configs that ran, with their index in `configs`
  for (size_t i = 0; i < order.size() && r.measured < o.measure; ++i) {
    const Config& c = configs[order[i]];
    TrialResult tr = fw.Measure(w, c, t, o.measure_options);
    Record rec = MakeTrialRecord(fw, w, t, c, tr, o.worker_id);
    OPAL_RETURN_IF_ERROR(store.Put({rec}).status());
    ++r.measured;
    if (rec.status != TrialStatus::kOk) {
      ++r.failed;
      continue;
    }
    ran.emplace_back(rec, order[i]);
    if (!r.best || rec.median_s < r.best->median_s) {
      r.best = rec;
      r.best_from = origin[order[i]];
    }
  }
  // One trial each is not a fair comparison: the machine's speed drifts, and jumps for seconds at
  // a time, between trials. The fastest few and the default (the safe choice) are re-timed side
  // by side and the winner of that is the best (its re-timed record).
  if (o.retime > 1 && ran.size() > 1) {
    std::stable_sort(ran.begin(), ran.end(), [](const auto& a, const auto& b) {
      return a.first.median_s < b.first.median_s;
    });
    std::vector<size_t> pick;
    for (size_t i = 0; i < ran.size(); ++i)
      if (static_cast<int>(pick.size()) < o.retime || (default_new && ran[i].second == 0))
        pick.push_back(i);
    std::vector<Config> again;
    for (size_t i : pick) again.push_back(configs[ran[i].second]);
    const auto times =
        fw.MeasureSideBySide(w, again, t, o.measure_options, o.retime_rounds, nullptr);
    // The re-timings are trials too (a config's per-round times): stored, so that a later
    // lookup of this machine's best record sees the fair comparison beside the single trials.
    std::vector<Record> again_records(pick.size());
    for (size_t j = 0; j < pick.size(); ++j) {
      if (times[j].empty()) continue;
      TrialResult tr;
      tr.times_s = times[j];
      again_records[j] = MakeTrialRecord(fw, w, t, again[j], tr, o.worker_id);
      OPAL_RETURN_IF_ERROR(store.Put({again_records[j]}).status());
    }
    const size_t win = FastestSideBySide(times);
    if (win < pick.size()) {
      r.retimed = static_cast<int>(pick.size());
      r.best = again_records[win];
      r.best_from = origin[ran[pick[win]].second];
    }
  }
  r.measure_s = std::chrono::duration<double>(Clock::now() - t1).count();
  return r;
}

}  // namespace opal::costmodel
