// opal costmodel train --store DSN [--target KEY] [--exclude-model M.onnx]...
//           [--exclude-workloads FILE]... -o MODEL [--no-search]
//           [--register NAME [--replace]]
// opal costmodel eval MODEL|@NAME --store DSN [--target KEY] [--holdout-model M.onnx]... [--json]
// opal costmodel register MODEL --name NAME [--replace] --store DSN   (also: list, remove NAME)
#include <fmt/format.h>

#include <set>

#include "commands.h"
#include "opal/cost_model_training.h"
#include "opal/cost_model.h"
#include "opal/cost_model_registry.h"
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
  std::vector<std::string> workload_lists;  // train: leave these workloads out (JSON lines)
  std::string name;                 // register under this name
  bool replace = false;
  bool no_search = false;
  bool json = false;
  std::string Dsn() const { return StoreDsn(store); }
};

// Registers `m` in the store's registry under `name`, with the facts List shows.
Status Register(const CostModel& m, const Flags& f) {
  OPAL_ASSIGN_OR_RETURN(auto registry, CostModelRegistry::Open(f.Dsn()));
  RegisteredCostModel r;
  r.name = f.name;
  r.framework = m.info().framework;
  r.feature_version = m.info().feature_version;
  r.meta = {{"framework_version", m.info().framework_version}, {"rows", m.info().rows},
            {"groups", m.info().groups},  {"targets", m.info().targets},
            {"objective", m.info().objective}, {"validation", m.info().validation.value("chosen", Json::object())}};
  OPAL_ASSIGN_OR_RETURN(r.body, m.ToText());
  OPAL_RETURN_IF_ERROR(registry->Put(r, f.replace));
  fmt::print("registered cost model '{}' in {} (use --cost-model @{})\n", f.name, RecordStore::RedactDsn(f.Dsn()),
             f.name);
  return Status::Ok();
}

// The keys of the workloads of these ONNX models and workload list files.
Result<std::set<std::string>> WorkloadKeysOf(const std::vector<std::string>& models,
                                             const std::vector<std::string>& lists = {}) {
  std::set<std::string> keys;
  for (const auto& m : models) {
    OPAL_ASSIGN_OR_RETURN(Graph g, ImportOnnxFile(m));
    for (const auto& t : ExtractTasks(g).tasks) keys.insert(t.workload.Key());
  }
  for (const auto& l : lists) {
    OPAL_ASSIGN_OR_RETURN(TaskList tl, ReadWorkloadList(l, "--exclude-workloads"));
    for (const auto& t : tl.tasks) keys.insert(t.workload.Key());
  }
  return keys;
}

std::string WorkloadOf(const std::string& group) { return group.substr(0, group.find('@')); }

Result<std::vector<TrainingRow>> Rows(const Flags& f, TuningFramework& fw) {
  OPAL_ASSIGN_OR_RETURN(auto store, RecordStore::Open(f.Dsn()));
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
  OPAL_ASSIGN_OR_RETURN(auto excluded, WorkloadKeysOf(f.models, f.workload_lists));
  const size_t before = rows.size();
  std::erase_if(rows, [&](const TrainingRow& r) { return excluded.count(WorkloadOf(r.group)) > 0; });
  if (!excluded.empty())
    std::fprintf(stderr, "opal: left out %zu trials of %zu excluded workloads\n",
                 before - rows.size(), excluded.size());
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
  return f.name.empty() ? Status::Ok() : Register(m, f);
}

Status RegisterFile(const Flags& f) {
  OPAL_ASSIGN_OR_RETURN(CostModel m, CostModel::Load(f.model));
  return Register(m, f);
}

Status List(const Flags& f) {
  OPAL_ASSIGN_OR_RETURN(auto registry, CostModelRegistry::Open(f.Dsn()));
  OPAL_ASSIGN_OR_RETURN(auto all, registry->List());
  if (f.json) {
    Json j = Json::array();
    for (const auto& m : all)
      j.push_back({{"name", m.name}, {"framework", m.framework}, {"feature_version", m.feature_version},
                   {"created_us", m.created_us}, {"sha256", m.sha256}, {"meta", m.meta}});
    fmt::print("{}\n", j.dump(2));
    return Status::Ok();
  }
  if (all.empty()) {
    fmt::print("no cost models registered in {}\n", RecordStore::RedactDsn(f.Dsn()));
    return Status::Ok();
  }
  fmt::print("{:<24} {:<8} {:>8} {:>7} {:<16} {:>9} {:>6}  {}\n", "name", "frmwork", "trials", "groups", "objective",
             "pairwise", "top-1", "feature version");
  for (const auto& m : all) {
    const Json& v = m.meta.value("validation", Json::object());
    fmt::print("{:<24} {:<8} {:>8} {:>7} {:<16} {:>9.3f} {:>6.3f}  {}\n", m.name, m.framework,
               m.meta.value("rows", int64_t{0}), m.meta.value("groups", int64_t{0}), m.meta.value("objective", ""),
               v.value("pairwise_accuracy", 0.0), v.value("top1", 0.0), m.feature_version.substr(0, 12));
  }
  return Status::Ok();
}

Status Remove(const Flags& f) {
  OPAL_ASSIGN_OR_RETURN(auto registry, CostModelRegistry::Open(f.Dsn()));
  OPAL_ASSIGN_OR_RETURN(bool removed, registry->Remove(f.name));
  if (!removed) return Error(ErrorCode::kNotFound, "no cost model named '{}' in {}", f.name, RecordStore::RedactDsn(f.Dsn()));
  fmt::print("removed cost model '{}'\n", f.name);
  return Status::Ok();
}

Status Eval(const Flags& f) {
  OPAL_ASSIGN_OR_RETURN(CostModel m, LoadCostModel(f.model, f.Dsn()));
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
  train->add_option(
      "--exclude-workloads", f->workload_lists,
      "Leave out the workloads listed in this file, one JSON object per line (repeatable)");
  train->add_flag("--no-search", f->no_search, "Skip the objective/hyper-parameter search");
  train->add_option("--register", f->name, "Also register the model in the store under this name");
  train->add_flag("--replace", f->replace, "With --register: overwrite a model of that name");
  train->callback([f, run] { *run = [f] { return Train(*f); }; });
  CLI::App* eval = cm->add_subcommand("eval", "Ranking quality on the store's trials");
  eval->add_option("model", f->model, "Model file, or @NAME of a registered model")->required();
  eval->add_option("--holdout-model", f->models, "Only the workloads of this ONNX model (repeatable)");
  eval->add_flag("--json", f->json, "Machine-readable output");
  eval->callback([f, run] { *run = [f] { return Eval(*f); }; });
  for (CLI::App* c : {train, eval}) {
    c->add_option("--target", f->target, "Only trials of this exact target key");
    c->add_option("--framework", f->framework, "Tuning framework (default halide)");
  }
  CLI::App* reg = cm->add_subcommand("register", "Keep a model file in the store, by name, for --cost-model @NAME");
  reg->add_option("model", f->model, "Model file (opal costmodel train -o)")->required();
  reg->add_option("--name", f->name, "Name to register it under")->required();
  reg->add_flag("--replace", f->replace, "Overwrite a model of that name");
  reg->callback([f, run] { *run = [f] { return RegisterFile(*f); }; });
  CLI::App* list = cm->add_subcommand("list", "The models registered in the store, newest first");
  list->add_flag("--json", f->json, "Machine-readable output");
  list->callback([f, run] { *run = [f] { return List(*f); }; });
  CLI::App* rm = cm->add_subcommand("remove", "Remove a registered model");
  rm->add_option("name", f->name, "Its name")->required();
  rm->callback([f, run] { *run = [f] { return Remove(*f); }; });
  for (CLI::App* c : {train, eval, reg, list, rm})
    c->add_option("--store", f->store, "Store DSN (default $OPAL_STORE or the user's SQLite store)");
}

}  // namespace opal::cli
