// Turning the store's trials into cost-model training rows, and a cost model into a ranking hook
// for the search (optionally retrained online as the workload's own trials arrive).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "opal/cost_model.h"
#include "opal/record_store.h"
#include "opal/tuning_framework.h"
#include "opal/tuning_search.h"

namespace opal::costmodel {

// The feature version of `fw`'s current features.
std::string FeatureVersionOf(const TuningFramework& fw);

// Every trial of `fw` (its current version) matching `filter`, as rows: features from
// fw.Features, label = GFLOP/s / the group's best (failed trials: 0, i.e. the slowest). Records
// whose config no longer parses against the space are skipped and counted in *skipped.
Result<std::vector<TrainingRow>> LoadTrainingRows(RecordStore& store, const TuningFramework& fw,
                                                  const RecordFilter& filter, int64_t* skipped = nullptr);

// Sets each row's label from its group's best GFLOP/s.
void NormalizeLabels(std::vector<TrainingRow>& rows);

// A RankFn scoring configs of a workload on `target` with `model`. With retrain_every > 0, the
// model is retrained (fast settings) on `base_rows` plus the workload's own trials in `store`
// each time retrain_every new trials of it have arrived -- AutoTVM's XGBoost tuner loop.
RankFn MakeRankFn(std::shared_ptr<const CostModel> model, const TuningFramework& fw, const Target& target,
                  RecordStore* store = nullptr, std::vector<TrainingRow> base_rows = {}, int retrain_every = 0);

// What `--cost-model SPEC [--retrain-every N]` sets up for a series of model-guided searches: the
// model and, when retraining, the store's trials it is retrained on (loaded once for all).
struct SearchGuide {
  std::shared_ptr<const CostModel> model;
  std::vector<TrainingRow> base_rows;
  int retrain_every = 0;
  // A fresh ranking hook for one search (MakeRankFn; each search retrains on its own trials).
  RankFn Rank(const TuningFramework& fw, const Target& target, RecordStore* store) const;
};

// Loads the model named by `spec` (LoadCostModel: a file, @NAME or @ in the store `store_dsn`) and,
// with retrain_every > 0, the training rows of `store`.
Result<SearchGuide> LoadSearchGuide(const std::string& spec, const std::string& store_dsn, RecordStore& store,
                                    const TuningFramework& fw, int retrain_every);

}  // namespace opal::costmodel
