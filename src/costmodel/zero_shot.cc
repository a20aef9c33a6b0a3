#include "opal/zero_shot.h"

#include <algorithm>
#include <chrono>
#include <numeric>
#include <random>
#include <set>

#include "opal/cost_model_training.h"
#include "opal/tuning_transfer.h"

namespace opal::costmodel {

Result<ZeroShotResult> ZeroShotTune(TuningFramework& fw, const Workload& w, const Target& t, RecordStore& store,
                                    const CostModel& model, const ZeroShotOptions& o) {
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  OPAL_ASSIGN_OR_RETURN(ConfigSpace space, fw.Space(w, t));
  OPAL_ASSIGN_OR_RETURN(std::set<std::string> measured,
                        store.MeasuredConfigs(w.Key(), t.ExactKey(), fw.Name(), fw.Version()));
  std::mt19937_64 rng(o.seed ? o.seed : std::random_device{}());
  std::vector<Config> configs;
  std::set<std::string> seen = measured;
  for (int tries = 0; static_cast<int>(configs.size()) < o.samples && tries < o.samples * 5; ++tries) {
    auto c = space.Sample(rng);
    if (!c) break;
    if (seen.insert(c->CanonicalJson()).second) configs.push_back(*c);
  }
  for (const Config& c : fw.SeedConfigs(w, t))
    if (seen.insert(c.CanonicalJson()).second) configs.push_back(c);
  OPAL_ASSIGN_OR_RETURN(std::vector<Config> near, TransferConfigs(fw, store, w, t, o.transfer));
  for (const Config& c : near)
    if (seen.insert(c.CanonicalJson()).second) configs.push_back(c);
  ZeroShotResult r;
  r.sampled = static_cast<int>(configs.size());
  std::vector<std::vector<double>> feats;
  feats.reserve(configs.size());
  for (const auto& c : configs) feats.push_back(fw.Features(w, c, t));
  OPAL_ASSIGN_OR_RETURN(std::vector<double> scores, model.Predict(feats, FeatureVersionOf(fw)));
  std::vector<size_t> order(configs.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  r.rank_s = std::chrono::duration<double>(Clock::now() - t0).count();

  const auto t1 = Clock::now();
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
    if (!r.best || rec.median_s < r.best->median_s) r.best = rec;
  }
  r.measure_s = std::chrono::duration<double>(Clock::now() - t1).count();
  return r;
}

}  // namespace opal::costmodel
