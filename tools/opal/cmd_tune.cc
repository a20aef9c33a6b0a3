// opal tune MODEL.onnx | --workload JSON|KEY | --workloads FILE  [--trials N] [--time-budget S] [--strategy S]
//           [--early-stop N] [--transfer N] [--store DSN] [--framework NAME] [--seed N] [--json]
// Tunes on this host; every trial is written to the store. A live progress line goes to stderr.
#include <fmt/format.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <optional>
#include <set>

#include "commands.h"
#include "opal/onnx_import.h"
#include "opal/record_store.h"
#include "opal/tasks.h"
#include "opal/model_tuning.h"
#include "opal/tuning_search.h"
#include "opal/launcher.h"
#include "opal/tune_job.h"
#include "opal/cost_model_training.h"
#include "opal/zero_shot.h"

namespace opal::cli {
namespace {

struct Options {
  std::string model;
  std::string workload;
  std::string workload_list;  // a file of workloads, one JSON object per line
  int trials = 0;
  double time_budget_s = 0;
  std::string strategy = "evolutionary";
  int early_stop = 0;
  int transfer = 8;
  std::string store;
  std::string framework = "halide";
  uint64_t seed = 0;
  int min_trials = 8;
  bool json = false;
  std::vector<std::string> input_shapes;
  // Distributed: enqueue the tasks as a job and let workers pull them (see docs/distributed.md).
  int workers = 0;
  std::string launcher;  // local | slurm | none; "" = in this process
  dist::LaunchOptions launch;
  int max_attempts = 3;
  // Cost model: ranks candidates (model-guided search), or picks the K configs to measure (zero-shot).
  std::string cost_model;
  bool zero_shot = false;
  int measure_k = 8;
  int samples = 2000;
  int retrain_every = 0;
};

struct TaskOutcome {
  Workload workload;
  int count = 1;
  double share = 1;
  TuneResult result;
};

// Enqueues the tasks as one job (resubmitting resumes it) and runs them through workers.
Status RunDistributed(const Options& o, const std::string& dsn, TuningFramework& fw, const Target& host,
                      const std::vector<TaskOutcome>& tasks, const std::vector<TaskBudget>& budgets) {
  std::vector<dist::TuneJobTask> jt;
  for (size_t i = 0; i < tasks.size(); ++i) {
    if (!fw.Supports(tasks[i].workload)) continue;
    jt.push_back({tasks[i].workload, budgets[i].trials, budgets[i].time_s});
  }
  dist::TuneJobOptions jo;
  jo.name = !o.model.empty() ? o.model : !o.workload_list.empty() ? o.workload_list : tasks[0].workload.Key();
  jo.target = host;
  jo.framework = fw.Name();
  jo.framework_version = fw.Version();
  jo.strategy = o.strategy;
  jo.early_stop = o.early_stop;
  jo.transfer = o.transfer;
  jo.seed = o.seed;
  jo.max_attempts = o.max_attempts;
  OPAL_ASSIGN_OR_RETURN(auto queue, TaskQueue::Open(dsn));
  OPAL_ASSIGN_OR_RETURN(std::string job_id, queue->Submit(dist::MakeTuneJob(jt, jo)));
  dist::LaunchOptions lo = o.launch;
  lo.launcher = o.launcher.empty() ? "local" : o.launcher;
  lo.workers = std::max(1, o.workers);
  lo.store_dsn = dsn;
  if (lo.opal_binary.empty()) {
    char self[4096];
    const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    lo.opal_binary = n > 0 ? std::string(self, static_cast<size_t>(n)) : "opal";
  }
  std::fprintf(stderr, "opal: job %s: %zu tasks in %s\n", job_id.c_str(), jt.size(), RecordStore::RedactDsn(dsn).c_str());
  OPAL_ASSIGN_OR_RETURN(JobSummary s, dist::Launch(*queue, job_id, lo));
  if (o.json) {
    fmt::print("{}\n", Json{{"format", "opal.tune_job/1"}, {"job", s.id}, {"tasks", s.tasks}, {"done", s.done},
                             {"failed", s.failed}, {"pending", s.pending}, {"running", s.running},
                             {"trials", s.trials}}
                            .dump(2));
  } else if (lo.launcher != "none") {
    fmt::print("{}\n(details: opal status {} --store ...)\n", dist::ProgressLine(s, 0), s.id);
  }
  if (lo.launcher == "none" || (lo.launcher == "slurm" && !lo.follow)) return Status::Ok();
  if (const int64_t left = s.pending + s.running; left > 0) {
    return Error(ErrorCode::kFailed,
                 "{} of {} tasks are left ({} pending, {} running under a lease not yet expired): the workers "
                 "gave up (see their messages above); run the same command again to resume job {}",
                 left, s.tasks, s.pending, s.running, s.id);
  }
  if (s.failed > 0) {
    return Error(ErrorCode::kFailed, "{} of {} tasks failed; see `opal status {}`", s.failed, s.tasks, s.id);
  }
  return Status::Ok();
}

// Zero-shot: per task, rank `samples` configs with the model and measure the top K.
Status RunZeroShot(const Options& o, TuningFramework& fw, const Target& host, RecordStore& store,
                   const CostModel& model, const std::vector<TaskOutcome>& tasks) {
  Json out = {{"format", "opal.zeroshot/1"}, {"store", store.Describe()}, {"target", host.ExactKey()},
              {"tasks", Json::array()}};
  if (!o.json) fmt::print("{:>3}  {:<29} {:>7} {:>8} {:>8} {:>10} {:>8}  {}\n", "#", "key", "sampled", "measured",
                          "rank s", "GFLOP/s", "total s", "workload");
  for (size_t i = 0; i < tasks.size(); ++i) {
    const Workload& w = tasks[i].workload;
    if (!fw.Supports(w)) continue;
    costmodel::ZeroShotOptions zo;
    zo.samples = o.samples;
    zo.measure = o.measure_k;
    zo.seed = o.seed ? o.seed + i : 0;
    OPAL_ASSIGN_OR_RETURN(auto r, costmodel::ZeroShotTune(fw, w, host, store, &model, zo));
    const double g = r.best ? r.best->gflops : 0;
    out["tasks"].push_back({{"workload_key", w.Key()},
                            {"sampled", r.sampled},
                            {"measured", r.measured},
                            {"failed", r.failed},
                            {"side_by_side", r.side_by_side},
                            {"rank_s", r.rank_s},
                            {"measure_s", r.measure_s},
                            {"gflops", g},
                            {"config", r.best ? Json::parse(r.best->config_json) : Json()},
                            {"best_from", r.best_from}});
    if (!o.json)
      fmt::print("{:>3}  {:<29} {:>7} {:>8} {:>8.2f} {:>10.1f} {:>8.1f}  {}\n", i + 1, w.Key(), r.sampled, r.measured,
                 r.rank_s, g, r.rank_s + r.measure_s, w.Summary());
  }
  if (o.json) fmt::print("{}\n", out.dump(2));
  return Status::Ok();
}

Status Run(const Options& o) {
  if (int(!o.model.empty()) + int(!o.workload.empty()) + int(!o.workload_list.empty()) != 1) {
    return Error(ErrorCode::kInvalidArgument, "give one of MODEL.onnx, --workload JSON|KEY or --workloads FILE");
  }
  if (o.trials < 0 || o.time_budget_s < 0)
    return Error(ErrorCode::kInvalidArgument, "--trials and --time-budget must be >= 0");
  const std::string dsn = StoreDsn(o.store);
  OPAL_ASSIGN_OR_RETURN(auto store, RecordStore::Open(dsn));
  OPAL_RETURN_IF_ERROR(UseStarterKb(o.store, *store, nullptr));
  OPAL_ASSIGN_OR_RETURN(auto fw, MakeTuningFramework(o.framework));
  const Target host = Target::DetectHost();

  // One task list for every path: the model's tasks, or the one workload (share 1).
  TaskList tl;
  int total_trials = 0;
  if (!o.workload.empty()) {
    OPAL_ASSIGN_OR_RETURN(Workload w, ResolveWorkload(o.workload, *store));
    Task t;
    t.workload = w;
    t.count = 1;
    t.flops = t.total_flops = w.Flops();
    t.share = 1;
    tl.tasks.push_back(t);
    tl.total_flops = t.flops;
    total_trials = o.trials > 0 ? o.trials : 200;
  } else if (!o.workload_list.empty()) {
    OPAL_ASSIGN_OR_RETURN(tl, ReadWorkloadList(o.workload_list, "--workloads"));
    for (const Task& t : tl.tasks) tl.total_flops += t.flops;
    total_trials = (o.trials > 0 ? o.trials : 64) * static_cast<int>(tl.tasks.size());
  } else {
    ImportOptions io;
    OPAL_ASSIGN_OR_RETURN(io.input_shapes, ParseInputShapes(o.input_shapes));
    OPAL_ASSIGN_OR_RETURN(Graph g, ImportOnnxFile(o.model, io));
    tl = ExtractTasks(g);
    if (tl.tasks.empty())
      return Error(ErrorCode::kInvalidArgument, "{}: the model has no tunable workloads", o.model);
    total_trials = o.trials > 0 ? o.trials : 64 * static_cast<int>(tl.tasks.size());
  }
  std::vector<TaskOutcome> tasks;
  for (const Task& t : tl.tasks) tasks.push_back({t.workload, t.count, t.share, {}});
  const std::vector<TaskBudget> budgets =
      SplitBudget(tl, total_trials, o.time_budget_s, std::min(o.min_trials, total_trials));

  if (o.workers > 0 || !o.launcher.empty()) return RunDistributed(o, dsn, *fw, host, tasks, budgets);

  std::optional<costmodel::SearchGuide> guide;
  if (!o.cost_model.empty()) {
    OPAL_ASSIGN_OR_RETURN(guide, costmodel::LoadSearchGuide(o.cost_model, dsn, *store, *fw,
                                                            o.zero_shot ? 0 : o.retrain_every));
  }
  if (o.zero_shot && !guide) return Error(ErrorCode::kInvalidArgument, "--zero-shot needs --cost-model FILE");
  if (o.zero_shot) return RunZeroShot(o, *fw, host, *store, *guide->model, tasks);

  ModelTuningOptions mo;
  mo.trials = total_trials;
  mo.min_trials = o.min_trials;
  mo.time_budget_s = o.time_budget_s;
  mo.search.strategy = o.strategy;
  mo.search.early_stop = o.early_stop;
  mo.search.transfer = o.transfer;
  mo.search.seed = o.seed;
  if (guide) mo.rank_for = [&](const Workload&) { return guide->Rank(*fw, host, store.get()); };
  mo.progress = CliProgressStyle(o.json);
  OPAL_ASSIGN_OR_RETURN(ModelTuningResult tuned, TuneModelTasks(*fw, tl, host, *store, mo));
  for (size_t i = 0; i < tasks.size(); ++i) tasks[i].result = tuned.tasks[i].result;

  if (o.json) {
    Json j;
    j["format"] = "opal.tune/1";
    j["store"] = store->Describe();
    j["target"] = host.ExactKey();
    j["framework"] = fw->Name() + "/" + fw->Version();
    j["tasks"] = Json::array();
    for (const auto& t : tasks) {
      Json e = {{"workload_key", t.workload.Key()},
                {"workload", t.workload.json()},
                {"count", t.count},
                {"share", t.share},
                {"trials", t.result.trials},
                {"failed", t.result.failed},
                {"elapsed_s", t.result.elapsed_s},
                {"stop_reason", t.result.stop_reason}};
      if (t.result.best) {
        e["best"] = {{"gflops", t.result.best->gflops},
                     {"median_s", t.result.best->median_s},
                     {"config", Json::parse(t.result.best->config_json)},
                     {"uid", t.result.best->uid}};
      }
      j["tasks"].push_back(e);
    }
    fmt::print("{}\n", j.dump(2));
    return Status::Ok();
  }
  fmt::print("store   {}\ntarget  {}\n\n", store->Describe(), host.ExactKey());
  fmt::print("{:>3}  {:<29} {:>6} {:>6} {:>10} {:>10}  {}\n", "#", "key", "trials", "failed",
             "best ms", "GFLOP/s", "workload");
  for (size_t i = 0; i < tasks.size(); ++i) {
    const auto& t = tasks[i];
    const auto& b = t.result.best;
    fmt::print("{:>3}  {:<29} {:>6} {:>6} {:>10} {:>10}  {}\n", i + 1, t.workload.Key(),
               t.result.trials, t.result.failed, b ? fmt::format("{:.4f}", b->median_s * 1e3) : "-",
               b ? fmt::format("{:.1f}", b->gflops) : "-", t.workload.Summary());
  }
  return Status::Ok();
}

}  // namespace

void AddTuneCommand(CLI::App& app, CommandFn* run) {
  auto o = std::make_shared<Options>();
  CLI::App* sub =
      app.add_subcommand("tune", "Tune the workloads of a model (or one workload) on this machine");
  sub->add_option("model", o->model, "ONNX model: tune all its tasks, trials split by FLOPs share");
  sub->add_option("--workload", o->workload,
                  "One workload: its JSON, or a workload key known to the store");
  sub->add_option("--workloads", o->workload_list,
                  "A file of workloads, one JSON object per line: tune them all, the same trials each");
  sub->add_option("--trials", o->trials,
                  "Trials to measure: per workload (default 200; 64 each with --workloads), or in total "
                  "for a model (default 64 per task)");
  sub->add_option("--time-budget", o->time_budget_s,
                  "Wall-clock seconds (for a model: in total, split by share)");
  sub->add_option("--strategy", o->strategy, "Search strategy: evolutionary (default) or random");
  sub->add_option("--early-stop", o->early_stop,
                  "Stop a workload after N trials without a new best (0 = never)");
  sub->add_option("--transfer", o->transfer,
                  "First measure the best configs of the N nearest other workloads in the store "
                  "(default 8, at most a quarter of the trials; 0 = off)");
  sub->add_option("--min-trials", o->min_trials,
                  "Fewest trials any task of a model gets (default 8)");
  sub->add_option("--store", o->store,
                  "Record store DSN (default: $OPAL_STORE or the user's SQLite store)");
  sub->add_option("--framework", o->framework, "Tuning framework (default halide)");
  sub->add_option("--seed", o->seed, "Random seed (default: random)");
  sub->add_option("--input-shape", o->input_shapes,
                  "Shape for a graph input: NAME=1x3x224x224 (repeatable)");
  sub->add_flag("--json", o->json, "Print the result as JSON (format opal.tune/1)");
  sub->add_option("--cost-model", o->cost_model, "Cost model file (opal costmodel train): guides the search (a file, or @NAME of a model registered in the store)");
  sub->add_flag("--zero-shot", o->zero_shot, "Rank --samples configs with the cost model and measure only the top K");
  sub->add_option("--measure", o->measure_k, "Zero-shot: configs measured per workload (default 8)");
  sub->add_option("--samples", o->samples, "Zero-shot: configs sampled and ranked per workload (default 2000)");
  sub->add_option("--retrain-every", o->retrain_every,
                  "Model-guided search: retrain the model after every N new trials of the workload (0 = never)");
  sub->add_option("--workers", o->workers, "Enqueue the tasks as a job and run N workers (default launcher: local)");
  sub->add_option("--launcher", o->launcher, "local | slurm | none (none: only enqueue and print the worker command)")
      ->check(CLI::IsMember({"local", "slurm", "none"}));
  sub->add_option("--max-attempts", o->max_attempts,
                  "Failures of a task itself before it is failed (default 3; lost workers do not count)");
  sub->add_option("--max-restarts", o->launch.max_restarts,
                  "Local: restarts of a worker slot whose workers keep dying (in a row, default 5); Slurm: "
                  "array elements resubmitted, per worker (default 5)");
  sub->add_option("--lease", o->launch.lease_s, "Worker lease in seconds (default 60)");
  sub->add_option("--partition", o->launch.partition, "Slurm partition");
  sub->add_option("--nodes", o->launch.nodes, "Slurm nodes");
  sub->add_option("--time-limit", o->launch.time_limit, "Slurm time limit (e.g. 02:00:00)");
  sub->add_option("--slurm-log-dir", o->launch.log_dir, "Directory for the Slurm workers' logs");
  sub->add_option("--sbatch-arg", o->launch.sbatch_args, "Extra sbatch argument (repeatable)");
  sub->add_flag("--no-follow", [o](int64_t) { o->launch.follow = false; }, "Slurm: submit and return");
  sub->callback([o, run] { *run = [o] { return Run(*o); }; });
}

}  // namespace opal::cli
