// opal deliver MODEL.onnx [-o DIR] [--budget SECONDS] [--store DSN] [--cost-model FILE] [--json]
#include <fmt/format.h>

#include <filesystem>
#include <map>

#include "commands.h"
#include "opal/deliver.h"

namespace opal::cli {
namespace {

struct Options {
  std::string model, out, store, cost_model;
  std::vector<std::string> inputs, input_shapes;
  double budget_s = 0;
  int runs = 30, threads = 0, retime = 0, measure = 8;
  bool no_torch = false, json = false;
};

void Print(const DeliverReport& r, const std::string& dir) {
  fmt::print("{:>3}  {:<29} {:>5} {:>6}  {:<9} {:>9} {:>8}  {}\n", "#", "task", "count", "share", "source",
             "GFLOP/s", "tune s", "workload");
  for (size_t i = 0; i < r.tasks.size(); ++i) {
    const DeliveredTask& t = r.tasks[i];
    fmt::print("{:>3}  {:<29} {:>5} {:>5.1f}%  {:<9} {:>9} {:>8}  {}\n", i + 1, t.workload_key, t.count,
               100 * t.share, t.source, t.gflops > 0 ? fmt::format("{:.1f}", t.gflops) : "-",
               t.tune_s > 0 ? fmt::format("{:.0f}", t.tune_s) : "-", t.summary);
  }
  std::map<std::string, int> by_source;
  for (const DeliveredTask& t : r.tasks) ++by_source[t.source];
  std::string sources;
  for (const auto& [s, c] : by_source) sources += fmt::format("{}{} {}", sources.empty() ? "" : ", ", c, s);
  fmt::print("\nsources  {} (up to {} configs measured here per workload no record covered)\n", sources,
             r.measure_per_workload);
  fmt::print("build    {}/libmodel.so in {:.1f} s ({} kernels, {} from cache){}\n", dir, r.build.total_s,
             r.build.kernels, r.build.kernels_cached,
             r.tune_s > 0 ? fmt::format("; tuning {:.0f} s before it", r.tune_s) : "");
  if (!r.build.random_weights.empty())
    fmt::print("weights  {} parameters were graph inputs without values: random weights\n",
               r.build.random_weights.size());
  fmt::print("latency  opal     p50 {:.3f} ms  p90 {:.3f} ms  ({} runs, batch as in the model)\n", r.opal.p50_ms,
             r.opal.p90_ms, r.opal.runs);
  if (r.torch) {
    fmt::print("         PyTorch  p50 {:.3f} ms  p90 {:.3f} ms  ({})\n", r.torch->p50_ms, r.torch->p90_ms,
               r.torch_mode);
    fmt::print("         opal is {:.2f}x {} than PyTorch (p50 ratio)\n",
               r.opal.p50_ms < r.torch->p50_ms ? r.torch->p50_ms / r.opal.p50_ms : r.opal.p50_ms / r.torch->p50_ms,
               r.opal.p50_ms < r.torch->p50_ms ? "faster" : "slower");
  } else if (!r.torch_error.empty()) {
    fmt::print("         PyTorch  not compared: {}\n", r.torch_error);
  }
}

Status Run(const Options& o) {
  DeliverOptions d;
  d.build.model_path = o.model;
  d.build.retime_top = o.retime;
  d.build.zero_shot_measure = o.measure;
  d.build.out_dir = o.out.empty()
                        ? (std::filesystem::path("opal-out") / std::filesystem::path(o.model).parent_path().filename())
                              .string()
                        : o.out;
  d.build.cost_model = o.cost_model;
  d.build.store_dsn = StoreDsn(o.store);
  d.build.runtime_inputs = o.inputs;
  OPAL_ASSIGN_OR_RETURN(d.build.input_shapes, ParseInputShapes(o.input_shapes));
  OPAL_ASSIGN_OR_RETURN(auto store, RecordStore::Open(StoreDsn(o.store)));
  d.build.store = store.get();
  // With a tuning budget the misses are tuned here; without one the shipped cost model ranks
  // the candidates measured for them (docs/knowledge_base.md).
  OPAL_RETURN_IF_ERROR(UseStarterKb(o.store, *store, o.budget_s > 0 ? nullptr : &d.build.cost_model));
  d.budget_s = o.budget_s;
  d.bench_runs = o.runs;
  d.threads = o.threads;
  d.progress = CliProgressStyle(o.json);
  const std::string peer = std::string(OPAL_SOURCE_DIR) + "/bench/e2e/torch_peer.py";
  if (!o.no_torch && std::filesystem::exists(peer) && std::filesystem::exists("/usr/bin/python3"))
    d.torch_peer_script = peer;
  OPAL_ASSIGN_OR_RETURN(DeliverReport r, Deliver(d));
  if (o.json) {
    fmt::print("{}\n", r.ToJson().dump(2));
  } else {
    Print(r, d.build.out_dir);
  }
  return Status::Ok();
}

}  // namespace

void AddDeliverCommand(CLI::App& app, CommandFn* run) {
  auto o = std::make_shared<Options>();
  CLI::App* c = app.add_subcommand(
      "deliver", "Tasks -> store lookup -> tuning of misses -> build -> benchmark, with a PyTorch comparison");
  c->add_option("model", o->model, "ONNX model")->required();
  c->add_option("-o,--output", o->out, "Output folder (default opal-out/<model folder name>)");
  c->add_option("--budget", o->budget_s, "Seconds of tuning for workloads with no record of this machine (default 0)");
  c->add_option("--store", o->store, "Store DSN (default $OPAL_STORE or the user's SQLite store)");
  c->add_option("--cost-model", o->cost_model, "Cost model: zero-shot for workloads missing from the store (a file, or @NAME of a model registered in the store)");
  c->add_option("--input", o->inputs, "Graph inputs that stay runtime inputs (repeatable)");
  c->add_option("--input-shape", o->input_shapes, "Shape for an input with symbolic dims, NAME=1x3x224x224");
  c->add_option("--runs", o->runs, "Timed runs of the built model (default 30)");
  c->add_option("--threads", o->threads, "Threads for opal's kernels and PyTorch (default: all cores)");
  c->add_flag("--no-pytorch", o->no_torch, "Do not run the PyTorch comparison");
  c->add_option("--measure", o->measure,
                "Configs measured here for each workload no record of this machine covers (default 8; 0 = none)");
  c->add_option("--retime", o->retime,
                 "Re-time the K best stored configs of each workload on this host and keep the fastest (default 0)");
  c->add_flag("--json", o->json, "Print the report as JSON (opal.deliver/1)");
  c->callback([o, run] { *run = [o] { return Run(*o); }; });
}

}  // namespace opal::cli
