#include "opal/cost_model_training.h"

#include <map>
#include <mutex>

#include "opal/log.h"

namespace opal::costmodel {

std::string FeatureVersionOf(const TuningFramework& fw) {
  return FeatureVersion(fw.Name(), fw.Version(), fw.FeatureNames());
}

void NormalizeLabels(std::vector<TrainingRow>& rows) {
  std::map<std::string, double> best;
  for (const auto& r : rows) best[r.group] = std::max(best[r.group], r.gflops);
  for (auto& r : rows) r.label = best[r.group] > 0 ? r.gflops / best[r.group] : 0;
}

Result<std::vector<TrainingRow>> LoadTrainingRows(RecordStore& store, const TuningFramework& fw,
                                                  const RecordFilter& filter_in, int64_t* skipped) {
  RecordFilter filter = filter_in;
  filter.framework = fw.Name();
  filter.framework_version = fw.Version();
  struct Cached {
    std::optional<Workload> w;
    std::optional<Target> t;
    std::optional<ConfigSpace> space;
  };
  std::map<std::string, Cached> cache;  // by workload_key@target_key
  std::vector<TrainingRow> rows;
  int64_t bad = 0;
  OPAL_RETURN_IF_ERROR(store.Scan(filter, [&](const Record& r) {
    const std::string group = r.workload_key + "@" + r.target_key;
    Cached& c = cache[group];
    if (!c.w) {
      auto w = Workload::FromJson(Json::parse(r.workload_json, nullptr, false));
      auto t = Target::Parse(r.target_string);
      if (w.ok() && t.ok()) {
        auto s = fw.Space(*w, *t);
        if (s.ok()) {
          c.w = *w;
          c.t = *t;
          c.space = *s;
        }
      }
    }
    if (!c.space) {
      ++bad;
      return true;
    }
    auto config = c.space->Parse(r.config_json);
    if (!config.ok()) {
      ++bad;
      return true;
    }
    TrainingRow row;
    row.group = group;
    row.features = fw.Features(*c.w, *config, *c.t);
    row.gflops = r.status == TrialStatus::kOk ? r.gflops : 0;
    rows.push_back(std::move(row));
    return true;
  }));
  NormalizeLabels(rows);
  if (skipped) *skipped = bad;
  return rows;
}

namespace {

struct OnlineState {
  std::mutex mu;
  std::shared_ptr<const CostModel> model;
  std::vector<TrainingRow> base;
  std::map<std::string, int64_t> seen;  // workload key -> trials when last retrained
};

}  // namespace

RankFn MakeRankFn(std::shared_ptr<const CostModel> model, const TuningFramework& fw, const Target& target,
                  RecordStore* store, std::vector<TrainingRow> base_rows, int retrain_every) {
  auto state = std::make_shared<OnlineState>();
  state->model = std::move(model);
  state->base = std::move(base_rows);
  const std::string version = FeatureVersionOf(fw);
  return [state, &fw, target, store, retrain_every, version](const Workload& w, const std::vector<Config>& configs) {
    std::lock_guard<std::mutex> g(state->mu);
    if (retrain_every > 0 && store) {
      RecordFilter f;
      f.workload_key = w.Key();
      f.target_key = target.ExactKey();
      auto own = LoadTrainingRows(*store, fw, f);
      const int64_t n = own.ok() ? static_cast<int64_t>(own->size()) : 0;
      if (n - state->seen[w.Key()] >= retrain_every) {
        std::vector<TrainingRow> rows = state->base;
        rows.insert(rows.end(), own->begin(), own->end());
        TrainOptions o;
        o.search = false;
        o.rounds = 60;
        auto m = CostModel::Train(rows, state->model->info(), o);
        if (m.ok()) state->model = std::make_shared<const CostModel>(std::move(*m));
        else log::Debug("online retrain skipped: {}", m.status().message());
        state->seen[w.Key()] = n;
      }
    }
    std::vector<std::vector<double>> feats;
    feats.reserve(configs.size());
    for (const auto& c : configs) feats.push_back(fw.Features(w, c, target));
    auto scores = state->model->Predict(feats, version);
    if (!scores.ok()) {
      log::Warn("cost model cannot score: {}", scores.status().message());
      return std::vector<double>(configs.size(), 0.0);
    }
    return *scores;
  };
}

RankFn SearchGuide::Rank(const TuningFramework& fw, const Target& target, RecordStore* store) const {
  return MakeRankFn(model, fw, target, store, base_rows, retrain_every);
}

Result<SearchGuide> LoadSearchGuide(const std::string& spec, const std::string& store_dsn, RecordStore& store,
                                    const TuningFramework& fw, int retrain_every) {
  SearchGuide g;
  OPAL_ASSIGN_OR_RETURN(CostModel m, LoadCostModel(spec, store_dsn, fw.Name()));
  g.model = std::make_shared<const CostModel>(std::move(m));
  g.retrain_every = retrain_every;
  if (retrain_every > 0) {
    OPAL_ASSIGN_OR_RETURN(g.base_rows, LoadTrainingRows(store, fw, {}));
  }
  return g;
}

}  // namespace opal::costmodel
