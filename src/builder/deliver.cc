// Deliver: store lookup, tuning of misses, build, benchmark, PyTorch comparison.
#include "opal/deliver.h"

#include <fmt/format.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "opal/log.h"
#include "opal/onnx_import.h"
#include "opal/tasks.h"
#include "opal/model_tuning.h"
#include "opal/tuning_search.h"
#include "opal/latency_stats.h"
#include "opal/model_inputs.h"
#include "opal/model_library.h"

namespace opal {
namespace {

using Clock = std::chrono::steady_clock;

// Runs the PyTorch peer and reads its JSON document from stdout.
Result<Json> RunTorchPeer(const DeliverOptions& o) {
  // The same thread count as opal's kernels (0 there means every core this process may use).
  const int threads = o.threads > 0 ? o.threads : std::max(1, Target::DetectHost().cores);
  std::string cmd = fmt::format("/usr/bin/python3 '{}' '{}' --threads {} --repeats {} --json 2>/dev/null",
                                o.torch_peer_script, o.build.model_path, threads, o.bench_runs);
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return Error(ErrorCode::kFailed, "cannot start {}", o.torch_peer_script);
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int rc = pclose(p);
  if (rc != 0) return Error(ErrorCode::kFailed, "the PyTorch peer exited with status {}", WEXITSTATUS(rc));
  try {
    return Json::parse(out);
  } catch (const std::exception& e) {
    return Error(ErrorCode::kFailed, "the PyTorch peer printed no JSON ({})", e.what());
  }
}

}  // namespace

Json DeliverReport::ToJson() const {
  Json t = Json::array();
  for (const auto& d : tasks)
    t.push_back({{"workload_key", d.workload_key}, {"workload", d.summary}, {"count", d.count}, {"share", d.share},
                 {"source", d.source}, {"gflops", d.gflops}, {"tune_s", d.tune_s}});
  Json counts = Json::object();  // tasks per schedule source
  for (const auto& d : tasks) counts[d.source] = counts.value(d.source, 0) + 1;
  Json j = {{"format", "opal.deliver/1"}, {"tasks", t},        {"tune_s", tune_s}, {"sources", counts},
            {"measure_per_workload", measure_per_workload},
            {"build", build.ToJson()},    {"build_s", build.total_s},
            {"opal", {{"runs", opal.runs}, {"p50_ms", opal.p50_ms}, {"p90_ms", opal.p90_ms}, {"min_ms", opal.min_ms}}}};
  if (torch) {
    j["pytorch"] = {{"runs", torch->runs}, {"p50_ms", torch->p50_ms}, {"p90_ms", torch->p90_ms},
                    {"mode", torch_mode}};
    j["speedup_vs_pytorch"] = opal.p50_ms > 0 ? torch->p50_ms / opal.p50_ms : 0;
  } else if (!torch_error.empty()) {
    j["pytorch_error"] = torch_error;
  }
  return j;
}

Result<DeliverReport> Deliver(const DeliverOptions& o) {
  if (!o.build.store) return Error(ErrorCode::kInvalidArgument, "deliver needs a store");
  DeliverReport rep;
  rep.measure_per_workload = o.build.zero_shot_measure;
  const Target host = Target::DetectHost();
  ImportOptions io;
  io.input_shapes = o.build.input_shapes;
  OPAL_ASSIGN_OR_RETURN(Graph g, ImportOnnxFile(o.build.model_path, io));
  const TaskList tl = ExtractTasks(g);
  OPAL_ASSIGN_OR_RETURN(auto fw, MakeTuningFramework("halide"));

  // Store lookup.
  TaskList misses;
  for (const Task& t : tl.tasks) {
    DeliveredTask d{t.workload.Key(), t.workload.Summary(), t.count, t.share, "", 0, 0};
    if (!fw->Supports(t.workload)) {
      rep.tasks.push_back(d);  // e.g. depthwise: a direct kernel, named after the build
      continue;
    }
    OPAL_ASSIGN_OR_RETURN(std::vector<StoredConfig> best,
                          BestStoredConfigs(*fw, *o.build.store, t.workload, host, 1, /*coarse=*/true));
    const bool exact = !best.empty() && best[0].record.target_key == host.ExactKey();
    if (!best.empty()) {
      d.source = exact ? "exact" : "coarse";
      d.gflops = best[0].record.gflops;
    }
    // With a budget, a workload known only from other machines of this kind is tuned here too
    // (its search measures their best configs first), not just one no record covers.
    if (best.empty() || (!exact && o.budget_s > 0)) {
      misses.tasks.push_back(t);
      misses.total_flops += t.total_flops;
    }
    rep.tasks.push_back(d);
  }
  for (Task& t : misses.tasks) t.share = misses.total_flops > 0 ? t.total_flops / misses.total_flops : 0;

  // Tuning of the misses (no record of this machine) within the budget (zero-shot happens in the
  // build when a model is given):
  // up to 200 trials a task, the time split by FLOP share, a task stopped after 40 trials
  // without a new best so that the budget goes where it still pays.
  if (o.budget_s > 0 && o.build.cost_model.empty() && !misses.tasks.empty()) {
    ModelTuningOptions mo;
    mo.trials_per_task = 200;
    mo.time_budget_s = o.budget_s;
    mo.min_trials = 4;
    mo.search.early_stop = 40;
    mo.search.seed = 1;
    mo.progress = o.progress;
    OPAL_ASSIGN_OR_RETURN(ModelTuningResult tuned, TuneModelTasks(*fw, misses, host, *o.build.store, mo));
    for (const TunedTask& t : tuned.tasks) {
      for (auto& d : rep.tasks) {
        if (d.workload_key != t.task.workload.Key()) continue;
        d.tune_s = t.result.elapsed_s;
        if (t.result.best) {
          d.source = "tuned";
          d.gflops = t.result.best->gflops;
        }
      }
    }
    rep.tune_s = tuned.elapsed_s;
  }

  OPAL_ASSIGN_OR_RETURN(rep.build, BuildModel(o.build));
  for (size_t i = 0; i < rep.tasks.size(); ++i) {
    DeliveredTask& d = rep.tasks[i];
    if (!d.source.empty()) continue;
    d.source = "default";
    for (const BuiltNode& n : rep.build.nodes) {
      if (n.workload_key != d.workload_key) continue;
      d.source = n.source == ScheduleSource::kNotTunable ? "direct" : ScheduleSourceName(n.source);
      if (n.expected_s > 0) d.gflops = tl.tasks[i].flops / n.expected_s / 1e9;
      break;
    }
  }

  // Benchmark the library through its C API.
  OPAL_ASSIGN_OR_RETURN(auto lib, runtime::ModelLibrary::Open(o.build.out_dir, o.threads));
  OPAL_ASSIGN_OR_RETURN(runtime::PreparedInputs in, runtime::PrepareInputs(lib->inputs(), {}));
  OPAL_ASSIGN_OR_RETURN(const runtime::LatencyStats s, lib->Bench(in.tensors, 3, std::max(1, o.bench_runs)));
  rep.opal = {s.runs, s.p50_ms, s.p90_ms, s.min_ms};

  if (!o.torch_peer_script.empty()) {
    auto j = RunTorchPeer(o);
    if (!j.ok()) {
      rep.torch_error = j.status().message();
    } else {
      try {
        rep.torch = LatencySummary{j->value("repeats", o.bench_runs), j->at("p50_ms").get<double>(),
                                   j->value("p90_ms", 0.0), j->value("min_ms", 0.0)};
        rep.torch_mode = j->value("mode", "");
      } catch (const std::exception& e) {
        rep.torch_error = std::string("unexpected JSON from the PyTorch peer: ") + e.what();
      }
    }
  }
  return rep;
}

}  // namespace opal
