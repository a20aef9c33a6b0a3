// opal costmodel train --store DSN [--target KEY] [--exclude-model M.onnx]... -o MODEL [--no-search]
// opal costmodel eval MODEL --store DSN [--target KEY] [--holdout-model M.onnx]... [--json]
#include <fmt/format.h>

#include <set>

#include "commands.h"
#include "costmodel/training_data.h"
#include "opal/cost_model.h"
#include "opal/onnx_import.h"
#include "opal/record_store.h"
#include "opal/tasks.h"
#include "opal/tuning_framework.h"

namespace opal::cli {
namespace {

struct Flags {
  std::string store;
  std::string target;
  std::string framework = "halide";
  std::string output;
  std::string model;
  std::vector<std::string> models;  // exclude (train) or holdout (eval)
  bool no_search = false;
  bool json = false;
};

Result<std::set<std::string>> WorkloadKeysOf(const std::vector<std::string>& models) {
  std::set<std::string> keys;
  for (const auto& m : models) {
    OPAL_ASSIGN_OR_RETURN(Graph g, ImportOnnxFile(m));
    for (const auto& t : ExtractTasks(g).tasks) keys.insert(t.workload.Key());
  }
  return keys;
}

std::string WorkloadOf(const std::string& group) { return group.substr(0, group.find('@')); }

Result<std::vector<TrainingRow>> Rows(const Flags& f, TuningFramework& fw) {
  OPAL_ASSIGN_OR_RETURN(auto store, RecordStore::Open(f.store.empty() ? RecordStore::DefaultDsn() : f.store));
  RecordFilter filter;
  filter.target_key = f.target;
  int64_t skipped = 0;
  OPAL_ASSIGN_OR_RETURN(auto rows, costmodel::LoadTrainingRows(*store, fw, filter, &skipped));
  if (skipped) std::fprintf(stderr, "opal: skipped %lld trials whose config no longer fits the space\n",
                            static_cast<long long>(skipped));
  return rows;
}

Status Train(const Flags& f) {
  OPAL_ASSIGN_OR_RETURN(auto fw, MakeTuningFramework(f.framework));
  OPAL_ASSIGN_OR_RETURN(auto rows, Rows(f, *fw));
  OPAL_ASSIGN_OR_RETURN(auto excluded, WorkloadKeysOf(f.models));
  std::erase_if(rows, [&](const TrainingRow& r) { return excluded.count(WorkloadOf(r.group)) > 0; });
  CostModelInfo info;
  info.framework = fw->Name();
  info.framework_version = fw->Version();
  info.feature_names = fw->FeatureNames();
  info.feature_version = costmodel::FeatureVersionOf(*fw);
  std::set<std::string> targets;
  for (const auto& r : rows) targets.insert(r.group.substr(r.group.find('@') + 1));
  info.targets.assign(targets.begin(), targets.end());
  TrainOptions o;
  o.search = !f.no_search;
  std::fprintf(stderr, "opal: training on %zu trials (%s)\n", rows.size(), o.search ? "with model selection" : "defaults");
  OPAL_ASSIGN_OR_RETURN(CostModel m, CostModel::Train(rows, info, o));
  OPAL_RETURN_IF_ERROR(m.Save(f.output));
  const Json& v = m.info().validation["chosen"];
  fmt::print("cost model {}: {} trials of {} workload/target groups, objective {}, params {}\n"
             "validation ({} folds grouped by workload): pairwise accuracy {:.3f}, top-1 {:.3f}, top-5 {:.3f}\n",
             f.output, m.info().rows, m.info().groups, m.info().objective, m.info().params.dump(),
             m.info().validation["folds"].get<int>(), v["pairwise_accuracy"].get<double>(), v["top1"].get<double>(),
             v["top5"].get<double>());
  return Status::Ok();
}

Status Eval(const Flags& f) {
  OPAL_ASSIGN_OR_RETURN(CostModel m, CostModel::Load(f.model));
  OPAL_ASSIGN_OR_RETURN(auto fw, MakeTuningFramework(m.info().framework));
  OPAL_ASSIGN_OR_RETURN(auto rows, Rows(f, *fw));
  if (!f.models.empty()) {
    OPAL_ASSIGN_OR_RETURN(auto keep, WorkloadKeysOf(f.models));
    std::erase_if(rows, [&](const TrainingRow& r) { return keep.count(WorkloadOf(r.group)) == 0; });
  }
  if (rows.empty()) return Error(ErrorCode::kNotFound, "no trials to evaluate on (tune the held-out models first)");
  std::vector<std::vector<double>> feats;
  for (const auto& r : rows) feats.push_back(r.features);
  OPAL_ASSIGN_OR_RETURN(auto scores, m.Predict(feats, costmodel::FeatureVersionOf(*fw)));
  RankingScores s = ScoreRanking(rows, scores);
  if (f.json) {
    Json j = s.ToJson();
    j["trials"] = rows.size();
    fmt::print("{}\n", j.dump(2));
    return Status::Ok();
  }
  fmt::print("{} trials, {} groups: pairwise accuracy {:.3f}, top-1 {:.3f}, top-5 {:.3f}, R2 {:.3f}\n", rows.size(),
             s.groups, s.pairwise_accuracy, s.top1, s.top5, s.r2);
  return Status::Ok();
}

}  // namespace

void AddCostModelCommand(CLI::App& app, CommandFn* run) {
  auto f = std::make_shared<Flags>();
  CLI::App* cm = app.add_subcommand("costmodel", "Train and evaluate the learned cost model (XGBoost)");
  cm->require_subcommand(1);
  CLI::App* train = cm->add_subcommand("train", "Train on every trial in the store (failed ones as the slowest)");
  train->add_option("-o,--output", f->output, "Model file to write")->required();
  train->add_option("--exclude-model", f->models, "Leave out the workloads of this ONNX model (repeatable)");
  train->add_flag("--no-search", f->no_search, "Skip the objective/hyper-parameter search");
  train->callback([f, run] { *run = [f] { return Train(*f); }; });
  CLI::App* eval = cm->add_subcommand("eval", "Ranking quality on the store's trials");
  eval->add_option("model", f->model, "Model file")->required();
  eval->add_option("--holdout-model", f->models, "Only the workloads of this ONNX model (repeatable)");
  eval->add_flag("--json", f->json, "Machine-readable output");
  eval->callback([f, run] { *run = [f] { return Eval(*f); }; });
  for (CLI::App* c : {train, eval}) {
    c->add_option("--store", f->store, "Store DSN (default $OPAL_STORE or the user's SQLite store)");
    c->add_option("--target", f->target, "Only trials of this exact target key");
    c->add_option("--framework", f->framework, "Tuning framework (default halide)");
  }
}

}  // namespace opal::cli
