// CostModel: predicts how fast a (workload, config) runs on a target, from the numeric features a
// tuning framework gives (TuningFramework::Features). Trained with XGBoost on every trial in the
// store -- failed ones included, as the slowest -- and used to rank sampled configs so that only
// the most promising few are measured (zero-shot), or to guide the evolutionary search.
//
// Scores are relative: within one workload, a higher score means a faster config. A model records
// the feature version it was trained with (a hash of the framework, its version and its feature
// names) and refuses to score features of another version.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "opal/json.h"
#include "opal/status.h"

namespace opal {

// One trial as training data. Rows of one group (a workload on a target) are compared with each
// other only: label = GFLOP/s / best GFLOP/s of the group (0 for failed trials).
struct TrainingRow {
  std::string group;  // workload_key + "@" + target_key
  std::string model;  // model name the workload came from, when known ("" otherwise)
  std::vector<double> features;
  double label = 0;
  double gflops = 0;
};

struct CostModelInfo {
  std::string framework;
  std::string framework_version;
  std::string feature_version;  // FeatureVersion(framework, version, names)
  std::vector<std::string> feature_names;
  int64_t rows = 0;
  int64_t groups = 0;
  std::vector<std::string> targets;
  std::string objective;  // the XGBoost objective chosen by validation
  Json params;            // the chosen hyper-parameters
  Json validation;        // cross-validation scores of the candidates and of the choice
};

// Hash of what the features mean; models refuse features of another version.
std::string FeatureVersion(const std::string& framework, const std::string& version,
                           const std::vector<std::string>& names);

struct TrainOptions {
  int folds = 3;           // cross-validation folds, grouped by workload (no workload in both sides)
  bool search = true;      // try a small grid of objectives and hyper-parameters; false = defaults
  int rounds = 200;        // boosting rounds when search is off
  uint64_t seed = 1;
  int threads = 0;         // 0 = XGBoost's default
};

// Ranking quality of scores against measured GFLOP/s, averaged over groups.
struct RankingScores {
  double pairwise_accuracy = 0;  // share of config pairs (different GFLOP/s) ordered correctly
  double top1 = 0;               // best GFLOP/s among the top-1 pick / best GFLOP/s of the group
  double top5 = 0;               // same with the best of the top-5 picks
  double r2 = 0;                 // of the label (regression objectives; informative only)
  int64_t groups = 0;
  Json ToJson() const;
};
RankingScores ScoreRanking(const std::vector<TrainingRow>& rows, const std::vector<double>& scores);

class CostModel {
 public:
  ~CostModel();
  CostModel(CostModel&&) noexcept;
  CostModel& operator=(CostModel&&) noexcept;

  // Trains on `rows` (features of info.feature_version). kInvalidArgument when there is too
  // little data (fewer than 2 groups or 20 rows).
  static Result<CostModel> Train(const std::vector<TrainingRow>& rows, CostModelInfo info,
                                 const TrainOptions& options = {});
  // A file written by Save (format "opal.costmodel/1").
  static Result<CostModel> Load(const std::string& path);
  Status Save(const std::string& path) const;
  // The same format as text (what the registry keeps); `origin` names the source in errors.
  static Result<CostModel> FromText(const std::string& text, const std::string& origin);
  Result<std::string> ToText() const;

  // Scores feature rows (higher = faster). kInvalidArgument when `feature_version` differs from
  // the model's or a row has the wrong length.
  Result<std::vector<double>> Predict(const std::vector<std::vector<double>>& features,
                                      const std::string& feature_version) const;

  const CostModelInfo& info() const { return info_; }

 private:
  CostModel() = default;
  struct Booster;
  std::unique_ptr<Booster> booster_;
  CostModelInfo info_;
};

// Loads the model that a `--cost-model` flag names: a file path, or "@NAME" for the model of that
// name in the registry of the store `store_dsn` (opal/cost_model_registry.h), or "@" alone for the
// newest model registered there for `framework`. kNotFound when nothing matches.
Result<CostModel> LoadCostModel(const std::string& spec, const std::string& store_dsn,
                                const std::string& framework = "halide");

}  // namespace opal
