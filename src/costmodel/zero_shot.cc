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
  // The first K of the order, measured side by side in one process: each built once, then rounds
  // timing every one milliseconds apart. One trial each would not compare them fairly (the
  // machine's speed drifts, and jumps for seconds at a time, between trials: a default measured
  // in a half-speed spell loses to slower configs), and K trials cost K processes.
  std::vector<size_t> chosen(
      order.begin(), order.begin() + std::min<size_t>(order.size(), std::max(0, o.measure)));
  std::vector<Config> cs;
  for (size_t i : chosen) cs.push_back(configs[i]);
  std::vector<std::vector<double>> times(cs.size());
  if (cs.size() > 1 && o.rounds > 0)
    times = fw.MeasureSideBySide(w, cs, t, o.measure_options, o.rounds, nullptr);
  std::vector<Record> recs(cs.size());
  for (size_t j = 0; j < cs.size(); ++j) {
    TrialResult tr;
    if (!times[j].empty()) {
      tr.times_s = times[j];
      ++r.side_by_side;
    } else {
      // Not measured side by side (it failed there, the process died, or there was one): its own
      // sandboxed trial, which also gives a failure its status.
      tr = fw.Measure(w, cs[j], t, o.measure_options);
    }
    recs[j] = MakeTrialRecord(fw, w, t, cs[j], tr, o.worker_id);
    OPAL_RETURN_IF_ERROR(store.Put({recs[j]}).status());
    ++r.measured;
    if (recs[j].status != TrialStatus::kOk) ++r.failed;
  }
  // The best: the side-by-side winner (paired per round); else the fastest single trial.
  const size_t win = FastestSideBySide(times);
  if (win < cs.size() && r.side_by_side > 1) {
    r.best = recs[win];
    r.best_from = origin[chosen[win]];
  } else {
    for (size_t j = 0; j < cs.size(); ++j) {
      if (recs[j].status != TrialStatus::kOk) continue;
      if (!r.best || recs[j].median_s < r.best->median_s) {
        r.best = recs[j];
        r.best_from = origin[chosen[j]];
      }
    }
  }
  r.measure_s = std::chrono::duration<double>(Clock::now() - t1).count();
  return r;
}

}  // namespace opal::costmodel
