// opal run DIR [--input NAME=FILE.pb]... [--output-dir D] [--bench N] [--warmup W] [--threads T]
//              [--json]: runs a model built by `opal build`.
#include <fmt/format.h>

#include <cctype>
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>

#include "commands.h"
#include "opal/json.h"
#include "opal/log.h"
#include "opal/onnx_import.h"
#include "opal/latency_stats.h"
#include "opal/model_inputs.h"
#include "opal/model_library.h"

namespace opal::cli {
namespace {

namespace fs = std::filesystem;
using runtime::ModelTensorInfo;

struct Options {
  std::string dir;
  std::vector<std::string> inputs;
  std::string output_dir;
  int bench = 0;
  int warmup = 3;
  int threads = 0;
  int profile = 0;
  bool json = false;
};

// Mean time per kernel call over `runs` profiled runs, largest first.
Result<Json> Profile(runtime::ModelLibrary& model, const std::vector<Tensor>& in, int runs) {
  std::vector<Tensor> outputs;
  std::vector<double> seconds;
  for (int i = 0; i < runs; ++i) OPAL_RETURN_IF_ERROR(model.RunInto(in, &outputs, &seconds));
  const std::vector<std::string> nodes = model.StepNodes();
  double total = 0;
  for (double s : seconds) total += s;
  std::vector<size_t> order(seconds.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return seconds[a] > seconds[b]; });
  Json steps = Json::array();
  for (size_t i : order)
    steps.push_back({{"step", i}, {"node", nodes[i]}, {"ms", seconds[i] / runs * 1e3},
                     {"share", total > 0 ? seconds[i] / total : 0}});
  return Json{{"runs", runs}, {"total_ms", total / runs * 1e3}, {"steps", steps}};
}

// Output tensor names may hold characters that are not file-name safe ("out/0:0").
std::string FileNameFor(const std::string& name) {
  std::string f;
  for (char c : name)
    f +=
        (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_') ? c : '_';
  if (f.empty() || f[0] == '.') f = "_" + f;
  return f + ".pb";
}

double ElapsedMs(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

Json TensorJson(const ModelTensorInfo& info) {
  return Json{{"name", info.name}, {"dtype", DTypeName(info.dtype)}, {"shape", info.shape}};
}

Status Run(const Options& o) {
  OPAL_ASSIGN_OR_RETURN(auto model, runtime::ModelLibrary::Open(o.dir, o.threads));
  OPAL_ASSIGN_OR_RETURN(auto specs, runtime::ParseInputSpecs(o.inputs));
  OPAL_ASSIGN_OR_RETURN(runtime::PreparedInputs in, runtime::PrepareInputs(model->inputs(), specs));
  for (size_t i = 0; i < in.files.size(); ++i) {
    if (in.files[i].empty()) {
      log::Warn(
          "input '{}' not given (--input {}=FILE.pb): using random data (seed {}; see docs/cli.md)",
          model->inputs()[i].name, model->inputs()[i].name, i);
    }
  }

  std::vector<Tensor> outputs;
  auto t0 = std::chrono::steady_clock::now();
  OPAL_RETURN_IF_ERROR(model->RunInto(in.tensors, &outputs));
  const double first_ms = ElapsedMs(t0);

  const fs::path out_dir =
      o.output_dir.empty() ? fs::path(o.dir) / "outputs" : fs::path(o.output_dir);
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec)
    return Error(ErrorCode::kIo, "cannot create output folder {}: {}", out_dir.string(),
                 ec.message());
  std::vector<std::string> files;
  for (size_t i = 0; i < outputs.size(); ++i) {
    files.push_back((out_dir / FileNameFor(model->outputs()[i].name)).string());
    OPAL_RETURN_IF_ERROR(SaveTensorProtoFile(files.back(), outputs[i], model->outputs()[i].name));
  }

  runtime::LatencyStats stats;
  if (o.bench > 0) {
    OPAL_ASSIGN_OR_RETURN(stats, model->Bench(in.tensors, o.warmup, o.bench));
  }

  Json profile;
  if (o.profile > 0) {
    OPAL_ASSIGN_OR_RETURN(profile, Profile(*model, in.tensors, o.profile));
  }

  if (o.json) {
    Json j{{"format", "opal.run/1"},
           {"model", o.dir},
           {"description", model->description()},
           {"threads", o.threads},
           {"first_run_ms", first_ms}};
    j["inputs"] = Json::array();
    for (size_t i = 0; i < in.files.size(); ++i) {
      Json x = TensorJson(model->inputs()[i]);
      x["source"] = in.files[i].empty() ? "random" : "file";
      if (!in.files[i].empty()) x["file"] = in.files[i];
      j["inputs"].push_back(x);
    }
    j["outputs"] = Json::array();
    for (size_t i = 0; i < files.size(); ++i) {
      Json x = TensorJson(model->outputs()[i]);
      x["file"] = files[i];
      j["outputs"].push_back(x);
    }
    if (o.bench > 0) {
      j["bench"] =
          Json{{"runs", stats.runs},       {"warmup", o.warmup},     {"min_ms", stats.min_ms},
               {"p50_ms", stats.p50_ms},   {"p90_ms", stats.p90_ms}, {"p99_ms", stats.p99_ms},
               {"mean_ms", stats.mean_ms}, {"max_ms", stats.max_ms}};
    }
    if (o.profile > 0) j["profile"] = profile;
    fmt::print("{}\n", j.dump(2));
    return Status::Ok();
  }
  fmt::print("model    {}: {}\n", o.dir, model->description());
  fmt::print("threads  {}\n", o.threads > 0 ? std::to_string(o.threads) : std::string("all cores"));
  for (size_t i = 0; i < in.files.size(); ++i) {
    const ModelTensorInfo& t = model->inputs()[i];
    fmt::print("input    {} {} {}  {}\n", t.name, DTypeName(t.dtype), ShapeToString(t.shape),
               in.files[i].empty() ? fmt::format("random (seed {})", i) : "from " + in.files[i]);
  }
  for (size_t i = 0; i < files.size(); ++i) {
    const ModelTensorInfo& t = model->outputs()[i];
    fmt::print("output   {} {} {}  -> {}\n", t.name, DTypeName(t.dtype), ShapeToString(t.shape),
               files[i]);
  }
  fmt::print("run      {:.4g} ms (first run)\n", first_ms);
  if (o.bench > 0) {
    fmt::print(
        "latency  {} runs after {} warm-up: min {:.4g}  p50 {:.4g}  p90 {:.4g}  p99 {:.4g}  "
        "mean {:.4g} ms\n",
        stats.runs, o.warmup, stats.min_ms, stats.p50_ms, stats.p90_ms, stats.p99_ms,
        stats.mean_ms);
  }
  if (o.profile > 0) {
    fmt::print("profile  {} runs, kernels {:.4g} ms per run; the 15 slowest steps:\n", o.profile,
               profile["total_ms"].get<double>());
    size_t shown = 0;
    for (const Json& st : profile["steps"]) {
      if (shown++ == 15) break;
      fmt::print("  {:>8.3f} ms {:>5.1f}%  step {:<4} {}\n", st["ms"].get<double>(),
                 100 * st["share"].get<double>(), st["step"].get<int>(), st["node"].get<std::string>());
    }
  }
  return Status::Ok();
}

}  // namespace

void AddRunCommand(CLI::App& app, CommandFn* run) {
  auto o = std::make_shared<Options>();
  CLI::App* sub = app.add_subcommand(
      "run", "Run a model built by `opal build` (DIR/libmodel.so + weights.bin)");
  sub->add_option("dir", o->dir, "The folder `opal build -o` wrote")->required();
  sub->add_option(
      "--input", o->inputs,
      "NAME=FILE.pb (or FILE.pb, named by its tensor): an input as an ONNX TensorProto; "
      "inputs not given get random data (repeatable)");
  sub->add_option("--output-dir", o->output_dir,
                  "Where NAME.pb of each output goes (default DIR/outputs)");
  sub->add_option("--profile", o->profile, "Time each kernel call over N runs and print the slowest")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--bench", o->bench, "Time N more runs and print min/p50/p90/p99/mean latency")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--warmup", o->warmup, "Untimed runs before --bench (default 3)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--threads", o->threads,
                  "Kernel threads (default 0: the cores this process may use)")
      ->check(CLI::NonNegativeNumber);
  sub->add_flag("--json", o->json, "Print JSON (format opal.run/1)");
  sub->callback([o, run] { *run = [o] { return Run(*o); }; });
}

}  // namespace opal::cli
