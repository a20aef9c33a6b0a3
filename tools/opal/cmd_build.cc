// opal build MODEL.onnx -o DIR [--store DSN] [--cost-model FILE] [--input NAME]... [--json]
// (opal deliver is in cmd_deliver.cc)
#include <fmt/format.h>

#include "commands.h"
#include "opal/build.h"

namespace opal::cli {
namespace {

struct Options {
  std::string model, out, store, cost_model, cache;
  std::vector<std::string> inputs, input_shapes;
  int jobs = 0, retime = 0, measure = 8;
  bool no_store = false, json = false;
};

void PrintReport(const BuildReport& r, const std::string& dir) {
  std::map<std::string, int> by_source;
  for (const BuiltNode& n : r.nodes)
    if (!n.workload_key.empty())
      ++by_source[n.source == ScheduleSource::kNotTunable ? "direct" : ScheduleSourceName(n.source)];
  fmt::print("{:<24} {:<12} {:<12} {:<8} {:>10}  {}\n", "node", "op", "kind", "source", "expected", "epilogue");
  for (const BuiltNode& n : r.nodes) {
    if (n.kind == "view") continue;
    fmt::print("{:<24} {:<12} {:<12} {:<8} {:>10}  {}\n", n.node.substr(0, 24), n.op_type, n.kind,
               n.workload_key.empty() ? "-" : ScheduleSourceName(n.source),
               n.expected_s > 0 ? fmt::format("{:.3f} ms", n.expected_s * 1e3) : "-", n.epilogue);
  }
  std::string sources;
  for (const auto& [s, c] : by_source) sources += fmt::format("{}{} {}", sources.empty() ? "" : ", ", c, s);
  fmt::print("\nbuilt {} -> {}/libmodel.so in {:.1f} s: {} kernels ({} from cache), tunable nodes: {}\n", r.model,
             dir, r.total_s, r.kernels, r.kernels_cached, sources.empty() ? "none" : sources);
  fmt::print("arena {:.1f} MiB (without reuse {:.1f} MiB), weights {:.1f} MiB\n", r.arena_bytes / 1048576.0,
             r.arena_naive_bytes / 1048576.0, r.weights_bytes / 1048576.0);
}

Status Run(const Options& o) {
  BuildOptions bo;
  bo.model_path = o.model;
  bo.out_dir = o.out;
  bo.cost_model = o.cost_model;
  bo.store_dsn = StoreDsn(o.store);
  bo.runtime_inputs = o.inputs;
  bo.jobs = o.jobs;
  bo.retime_top = o.retime;
  bo.zero_shot_measure = o.measure;
  bo.cache_dir = o.cache;
  OPAL_ASSIGN_OR_RETURN(bo.input_shapes, ParseInputShapes(o.input_shapes));
  std::unique_ptr<RecordStore> store;
  if (!o.no_store) {
    OPAL_ASSIGN_OR_RETURN(store, RecordStore::Open(StoreDsn(o.store)));
    bo.store = store.get();
    OPAL_RETURN_IF_ERROR(UseStarterKb(o.store, *store, &bo.cost_model));
  }
  OPAL_ASSIGN_OR_RETURN(BuildReport r, BuildModel(bo));
  if (o.json) {
    fmt::print("{}\n", r.ToJson().dump(2));
  } else {
    PrintReport(r, o.out);
  }
  return Status::Ok();
}

}  // namespace

void AddBuildCommand(CLI::App& app, CommandFn* run) {
  auto o = std::make_shared<Options>();
  CLI::App* c = app.add_subcommand("build", "Build a deployable shared library of an ONNX model with the best kernels known");
  c->add_option("model", o->model, "ONNX model")->required();
  c->add_option("-o,--output", o->out, "Output folder (libmodel.so, weights.bin, manifest.json)")->required();
  c->add_option("--store", o->store, "Store DSN to read records from (default $OPAL_STORE or the user's SQLite store)");
  c->add_flag("--no-store", o->no_store, "Use no store: default schedules only");
  c->add_option("--cost-model", o->cost_model, "Cost model for zero-shot of workloads missing from the store (a file, or @NAME of a model registered in the store)");
  c->add_option("--input", o->inputs, "Graph inputs that stay runtime inputs (repeatable; default: see docs/build.md)");
  c->add_option("--input-shape", o->input_shapes, "Shape for an input with symbolic dims, NAME=1x3x224x224");
  c->add_option("-j,--jobs", o->jobs, "Parallel kernel compilations (default: cores)");
  c->add_option("--cache", o->cache, "Kernel object cache folder, or 'off' (default ~/.cache/opal/kernels)");
  c->add_option("--retime", o->retime,
                 "Re-time the K best stored configs of each workload on this host and keep the fastest (default 0: "
                 "trust the stored figures)");
  c->add_option("--measure", o->measure,
                "Configs measured here for each workload no record of this machine covers (default 8; 0 = none)");
  c->add_flag("--json", o->json, "Print the build report as JSON (opal.build/1)");
  c->callback([o, run] { *run = [o] { return Run(*o); }; });
}

}  // namespace opal::cli
