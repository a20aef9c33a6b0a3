// The cost model's scores against the measurements: for valid records (an even sample when there
// are more than max_scatter), the score of (workload, config, target) and the measured GFLOP/s
// relative to the best of the same workload and target -- the label the model was trained on.
#include <algorithm>
#include <map>
#include <vector>

#include "collect.h"
#include "opal/cost_model.h"
#include "opal/cost_model_registry.h"
#include "opal/target.h"
#include "opal/tuning_framework.h"
#include "opal/workload.h"

namespace opal::report {

Result<Json> CollectCostModel(RecordStore& store, const ReportOptions& o) {
  std::string spec = o.cost_model;
  if (spec.empty()) {  // the newest registered model, when the store has one
    auto registry = CostModelRegistry::Open(o.store_dsn);
    if (!registry.ok()) return Json(nullptr);
    auto models = (*registry)->List();
    if (!models.ok() || models->empty()) return Json(nullptr);
    spec = "@" + models->front().name;
  }
  OPAL_ASSIGN_OR_RETURN(CostModel model, LoadCostModel(spec, o.store_dsn));
  const CostModelInfo& info = model.info();
  OPAL_ASSIGN_OR_RETURN(std::unique_ptr<TuningFramework> fw, MakeTuningFramework(info.framework));
  const std::string version = FeatureVersion(fw->Name(), fw->Version(), fw->FeatureNames());

  std::vector<Record> records;
  std::map<std::string, double> best;  // workload@target -> best GFLOP/s
  OPAL_RETURN_IF_ERROR(store.Scan({.framework = info.framework, .ok_only = true}, [&](const Record& r) {
    if (r.framework_version != fw->Version() || r.gflops <= 0) return true;
    double& b = best[r.workload_key + "@" + r.target_key];
    b = std::max(b, r.gflops);
    records.push_back(r);
    return true;
  }));
  const size_t n = records.size(), keep = std::min(n, static_cast<size_t>(std::max(o.max_scatter, 1)));
  std::vector<std::vector<double>> features;
  Json points = Json::array();
  std::map<std::string, Target> targets;
  for (size_t i = 0; i < keep; ++i) {
    const Record& r = records[i * n / keep];
    auto w = Workload::FromJson(Json::parse(r.workload_json, nullptr, false));
    auto c = Config::FromJson(r.config_json);
    if (!targets.count(r.target_string)) {
      auto t = Target::Parse(r.target_string);
      if (!t.ok()) continue;
      targets.emplace(r.target_string, *t);
    }
    if (!w.ok() || !c.ok()) continue;
    features.push_back(fw->Features(*w, *c, targets.at(r.target_string)));
    points.push_back({{"workload_key", r.workload_key},
                      {"op", r.op},
                      {"target", r.target_key},
                      {"measured", r.gflops / best[r.workload_key + "@" + r.target_key]},
                      {"gflops", r.gflops}});
  }
  if (!features.empty()) {
    OPAL_ASSIGN_OR_RETURN(std::vector<double> scores, model.Predict(features, version));
    for (size_t i = 0; i < scores.size(); ++i) points[i]["predicted"] = scores[i];
  }
  return Json{{"spec", spec},
              {"framework", info.framework},
              {"objective", info.objective},
              {"rows", info.rows},
              {"groups", info.groups},
              {"validation", info.validation},
              {"records", n},
              {"points", std::move(points)}};
}

}  // namespace opal::report
