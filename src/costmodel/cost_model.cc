#include "opal/cost_model.h"

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "costmodel/xgb.h"
#include "opal/cost_model_registry.h"
#include "opal/hash.h"
#include "opal/log.h"

namespace opal {

struct CostModel::Booster {
  costmodel::XgbBooster xgb;
};

namespace {

struct Candidate {
  std::string objective;
  int depth;
  double eta;
  int rounds;
  std::map<std::string, std::string> Params(const TrainOptions& o) const {
    std::map<std::string, std::string> p = {{"objective", objective},
                                            {"max_depth", std::to_string(depth)},
                                            {"eta", std::to_string(eta)},
                                            {"subsample", "0.9"},
                                            {"min_child_weight", "1"},
                                            {"seed", std::to_string(o.seed)},
                                            {"verbosity", "0"}};
    if (o.threads > 0) p["nthread"] = std::to_string(o.threads);
    return p;
  }
  Json ToJson() const { return {{"objective", objective}, {"max_depth", depth}, {"eta", eta}, {"rounds", rounds}}; }
};

// Rows sorted by group (ranking objectives need contiguous groups).
struct Prepared {
  std::vector<const TrainingRow*> rows;
  std::vector<unsigned> group_sizes;
};

Prepared Prepare(const std::vector<const TrainingRow*>& in) {
  Prepared p{in, {}};
  std::stable_sort(p.rows.begin(), p.rows.end(), [](auto* a, auto* b) { return a->group < b->group; });
  for (size_t i = 0; i < p.rows.size(); ++i) {
    if (i == 0 || p.rows[i]->group != p.rows[i - 1]->group) p.group_sizes.push_back(0);
    ++p.group_sizes.back();
  }
  return p;
}

Result<costmodel::XgbMatrix> Matrix(const std::vector<const TrainingRow*>& rows, size_t cols) {
  std::vector<float> data;
  data.reserve(rows.size() * cols);
  for (const auto* r : rows)
    for (double f : r->features) data.push_back(static_cast<float>(f));
  return costmodel::XgbMatrix::Create(data, rows.size(), cols);
}

Result<costmodel::XgbBooster> Fit(const std::vector<const TrainingRow*>& in, size_t cols, const Candidate& c,
                                  const TrainOptions& o) {
  Prepared p = Prepare(in);
  OPAL_ASSIGN_OR_RETURN(auto m, Matrix(p.rows, cols));
  std::vector<float> labels;
  for (const auto* r : p.rows) labels.push_back(static_cast<float>(r->label));
  OPAL_RETURN_IF_ERROR(m.SetLabels(labels));
  OPAL_RETURN_IF_ERROR(m.SetGroups(p.group_sizes));
  OPAL_ASSIGN_OR_RETURN(auto b, costmodel::XgbBooster::Create(&m));
  OPAL_RETURN_IF_ERROR(b.SetParams(c.Params(o)));
  OPAL_RETURN_IF_ERROR(b.Train(m, c.rounds));
  return b;
}

Result<std::vector<double>> PredictRows(const costmodel::XgbBooster& b, const std::vector<const TrainingRow*>& rows,
                                        size_t cols) {
  OPAL_ASSIGN_OR_RETURN(auto m, Matrix(rows, cols));
  OPAL_ASSIGN_OR_RETURN(auto p, b.Predict(m));
  return std::vector<double>(p.begin(), p.end());
}

// The workload part of a group ("KEY@TARGET"): folds keep a workload on one side on every target.
std::string WorkloadOf(const std::string& group) { return group.substr(0, group.find('@')); }

}  // namespace

std::string FeatureVersion(const std::string& framework, const std::string& version,
                           const std::vector<std::string>& names) {
  std::string text = framework + "\n" + version;
  for (const auto& n : names) text += "\n" + n;
  return "fv-" + Sha256Hex(text).substr(0, 12);
}

CostModel::~CostModel() = default;
CostModel::CostModel(CostModel&&) noexcept = default;
CostModel& CostModel::operator=(CostModel&&) noexcept = default;

Result<CostModel> CostModel::Train(const std::vector<TrainingRow>& rows, CostModelInfo info, const TrainOptions& o) {
  const size_t cols = info.feature_names.size();
  std::map<std::string, int> workloads;
  for (const auto& r : rows) {
    if (r.features.size() != cols) {
      return Error(ErrorCode::kInvalidArgument, "training row of {} has {} features, expected {}", r.group,
                   r.features.size(), cols);
    }
    workloads[WorkloadOf(r.group)] = 0;
  }
  if (workloads.size() < 2 || rows.size() < 20) {
    return Error(ErrorCode::kInvalidArgument,
                 "too little data to train a cost model: {} trials of {} workloads (need >= 20 trials of >= 2 "
                 "workloads); tune more first",
                 rows.size(), workloads.size());
  }
  // Grouped folds: workloads dealt round-robin in key order.
  const int folds = std::max(2, std::min<int>(o.folds, static_cast<int>(workloads.size())));
  int next = 0;
  for (auto& [w, f] : workloads) f = next++ % folds;

  std::vector<Candidate> grid;
  if (o.search) {
    for (const char* obj : {"reg:squarederror", "rank:pairwise"})
      for (int depth : {4, 7})
        for (double eta : {0.1, 0.3}) grid.push_back({obj, depth, eta, 150});
  } else {
    grid.push_back({"rank:pairwise", 6, 0.2, o.rounds});
  }
  Json tried = Json::array();
  double best_score = -1;
  Candidate best = grid[0];
  RankingScores best_scores;
  for (const Candidate& c : grid) {
    std::vector<TrainingRow> val_rows;
    std::vector<double> val_scores;
    for (int f = 0; f < folds; ++f) {
      std::vector<const TrainingRow*> train, val;
      for (const auto& r : rows) (workloads[WorkloadOf(r.group)] == f ? val : train).push_back(&r);
      if (train.empty() || val.empty()) continue;
      OPAL_ASSIGN_OR_RETURN(auto b, Fit(train, cols, c, o));
      OPAL_ASSIGN_OR_RETURN(auto s, PredictRows(b, val, cols));
      for (size_t i = 0; i < val.size(); ++i) {
        val_rows.push_back(*val[i]);
        val_scores.push_back(s[i]);
      }
    }
    RankingScores scores = ScoreRanking(val_rows, val_scores);
    const double score = 0.5 * scores.pairwise_accuracy + 0.5 * scores.top1;
    Json t = c.ToJson();
    t["validation"] = scores.ToJson();
    tried.push_back(t);
    log::Debug("cost model candidate {}: pairwise {:.3f} top1 {:.3f}", t.dump(), scores.pairwise_accuracy, scores.top1);
    if (score > best_score) {
      best_score = score;
      best = c;
      best_scores = scores;
    }
  }
  std::vector<const TrainingRow*> all;
  for (const auto& r : rows) all.push_back(&r);
  OPAL_ASSIGN_OR_RETURN(auto booster, Fit(all, cols, best, o));
  std::map<std::string, int> groups;
  for (const auto& r : rows) groups[r.group] = 0;
  info.rows = static_cast<int64_t>(rows.size());
  info.groups = static_cast<int64_t>(groups.size());
  info.objective = best.objective;
  info.params = best.ToJson();
  info.validation = {{"folds", folds}, {"grouped_by", "workload"}, {"chosen", best_scores.ToJson()},
                     {"candidates", tried}};
  CostModel m;
  m.booster_ = std::make_unique<Booster>(Booster{std::move(booster)});
  m.info_ = std::move(info);
  return m;
}

Result<std::vector<double>> CostModel::Predict(const std::vector<std::vector<double>>& features,
                                               const std::string& feature_version) const {
  if (feature_version != info_.feature_version) {
    return Error(ErrorCode::kInvalidArgument,
                 "cost model was trained on features {} ({} {}), these are {}; retrain it with "
                 "`opal costmodel train`",
                 info_.feature_version, info_.framework, info_.framework_version, feature_version);
  }
  if (features.empty()) return std::vector<double>{};
  std::vector<TrainingRow> rows(features.size());
  std::vector<const TrainingRow*> ptrs;
  for (size_t i = 0; i < features.size(); ++i) {
    if (features[i].size() != info_.feature_names.size()) {
      return Error(ErrorCode::kInvalidArgument, "feature row {} has {} values, the model expects {}", i,
                   features[i].size(), info_.feature_names.size());
    }
    rows[i].features = features[i];
    ptrs.push_back(&rows[i]);
  }
  return PredictRows(booster_->xgb, ptrs, info_.feature_names.size());
}

Result<std::string> CostModel::ToText() const {
  OPAL_ASSIGN_OR_RETURN(std::string booster, booster_->xgb.SaveJson());
  Json j = {{"format", "opal.costmodel/1"},
            {"framework", info_.framework},
            {"framework_version", info_.framework_version},
            {"feature_version", info_.feature_version},
            {"feature_names", info_.feature_names},
            {"rows", info_.rows},
            {"groups", info_.groups},
            {"targets", info_.targets},
            {"objective", info_.objective},
            {"params", info_.params},
            {"validation", info_.validation},
            {"booster", Json::parse(booster)}};
  return j.dump() + "\n";
}

Status CostModel::Save(const std::string& path) const {
  OPAL_ASSIGN_OR_RETURN(std::string text, ToText());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Error(ErrorCode::kIo, "cannot write cost model {}", path);
  out << text;
  if (!out) return Error(ErrorCode::kIo, "writing cost model {} failed", path);
  return Status::Ok();
}

Result<CostModel> CostModel::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(ErrorCode::kNotFound, "cannot read cost model {}", path);
  std::stringstream ss;
  ss << in.rdbuf();
  return FromText(ss.str(), path);
}

Result<CostModel> CostModel::FromText(const std::string& text, const std::string& origin) {
  const std::string& path = origin;
  Json j = Json::parse(text, nullptr, false);
  if (!j.is_object() || j.value("format", "") != "opal.costmodel/1" || !j.contains("booster")) {
    return Error(ErrorCode::kInvalidArgument, "{} is not an opal cost model (format opal.costmodel/1)", path);
  }
  CostModel m;
  try {
    m.info_.framework = j.at("framework").get<std::string>();
    m.info_.framework_version = j.at("framework_version").get<std::string>();
    m.info_.feature_version = j.at("feature_version").get<std::string>();
    m.info_.feature_names = j.at("feature_names").get<std::vector<std::string>>();
    m.info_.rows = j.at("rows").get<int64_t>();
    m.info_.groups = j.at("groups").get<int64_t>();
    m.info_.targets = j.at("targets").get<std::vector<std::string>>();
    m.info_.objective = j.at("objective").get<std::string>();
    m.info_.params = j.at("params");
    m.info_.validation = j.at("validation");
  } catch (const Json::exception& e) {
    return Error(ErrorCode::kInvalidArgument, "cost model {}: {}", path, e.what());
  }
  OPAL_ASSIGN_OR_RETURN(auto b, costmodel::XgbBooster::Create(nullptr));
  OPAL_RETURN_IF_ERROR(b.LoadJson(j["booster"].dump()));
  m.booster_ = std::make_unique<Booster>(Booster{std::move(b)});
  return m;
}

Result<CostModel> LoadCostModel(const std::string& spec, const std::string& store_dsn,
                                const std::string& framework) {
  if (spec.empty() || spec[0] != '@') return CostModel::Load(spec);
  const std::string name = spec.substr(1);
  OPAL_ASSIGN_OR_RETURN(auto registry, CostModelRegistry::Open(store_dsn));
  OPAL_ASSIGN_OR_RETURN(auto found, registry->Get(name, framework));
  if (!found) {
    return name.empty() ? Error(ErrorCode::kNotFound, "no cost model for framework '{}' is registered in {} "
                                "(opal costmodel register MODEL --name NAME)", framework, store_dsn)
                        : Error(ErrorCode::kNotFound, "no cost model named '{}' is registered in {} "
                                "(see opal costmodel list)", name, store_dsn);
  }
  return CostModel::FromText(found->body, "cost model '" + found->name + "' of " + store_dsn);
}

}  // namespace opal
