// opal.tasks / opal.build / opal.deliver / opal.target: the library calls behind `opal tasks`,
// `opal build`, `opal deliver` and `opal target`. They return the CLI's JSON documents as text
// (opal.tasks/1, opal.build/1, opal.deliver/1, opal.target/1); the Python layer makes objects of
// them. Long calls release the GIL.
#include <dlfcn.h>
#include <pybind11/stl.h>
#include <sys/stat.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "bindings.h"
#include "errors.h"
#include "opal/build.h"
#include "opal/deliver.h"
#include "opal/hash.h"
#include "opal/onnx_import.h"
#include "opal/record_store.h"
#include "opal/starter_kb.h"
#include "opal/target.h"
#include "opal/tasks.h"

namespace py = pybind11;

namespace opal::python {
namespace {

using ShapeMap = std::map<std::string, Shape>;

Target ResolveTarget(const std::string& spec) {
  if (spec.empty() || spec == "host") return Target::DetectHost();
  auto t = Target::Parse(spec);
  if (!t.ok()) Raise(t.status().WithContext("target"));
  return *t;
}

std::string TargetJson(const std::string& spec) { return ResolveTarget(spec).ToJson().dump(); }

std::string TasksJson(const std::string& path, const ShapeMap& shapes, const std::string& target) {
  const Target t = ResolveTarget(target);
  ImportOptions io;
  io.input_shapes = shapes;
  Result<Graph> g = Status(ErrorCode::kInternal, "not run");
  {
    py::gil_scoped_release release;
    g = ImportOnnxFile(path, io);
  }
  const Graph graph = Unwrap(std::move(g));
  Json j = ExtractTasks(graph).ToJson();
  j["model"] = path;
  j["opset"] = graph.opset;
  j["nodes"] = graph.num_nodes();
  j["target"] = t.ToJson();
  return j.dump();
}

// The kernel cache of `opal build` is keyed by the identity of the running executable, which in
// Python is the interpreter, not opal. So that a rebuilt extension never reuses kernels compiled
// by an older one, the package's default cache is a folder named after this extension's file
// (size and modification time), beside the CLI's.
std::string DefaultPythonKernelCache() {
  std::string base;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) {
    base = std::string(x) + "/opal";
  } else if (const char* h = std::getenv("HOME"); h && *h) {
    base = std::string(h) + "/.cache/opal";
  } else {
    return "off";
  }
  Dl_info info{};
  struct stat st {};
  std::string id = "unknown";
  if (dladdr(reinterpret_cast<void*>(&DefaultPythonKernelCache), &info) && info.dli_fname &&
      stat(info.dli_fname, &st) == 0) {
    id = std::string(info.dli_fname) + ":" + std::to_string(st.st_size) + ":" +
         std::to_string(st.st_mtim.tv_sec) + ":" + std::to_string(st.st_mtim.tv_nsec);
  }
  return base + "/kernels-python-" + Sha256Hex(id).substr(0, 16);
}

struct StoreChoice {
  std::unique_ptr<RecordStore> store;
  std::string dsn;
};

// dsn "" = the default store ($OPAL_STORE or the user's SQLite file); "-" = no store.
StoreChoice OpenStore(const std::string& dsn) {
  StoreChoice c;
  if (dsn == "-") return c;
  c.dsn = dsn.empty() ? RecordStore::DefaultDsn() : dsn;
  c.store = Unwrap(RecordStore::Open(c.dsn));
  return c;
}

BuildOptions MakeBuildOptions(const py::dict& kw, StoreChoice* store) {
  BuildOptions bo;
  bo.model_path = kw["model"].cast<std::string>();
  bo.out_dir = kw["out_dir"].cast<std::string>();
  *store = OpenStore(kw["store"].cast<std::string>());
  bo.store = store->store.get();
  bo.store_dsn = store->dsn;
  bo.cost_model = kw["cost_model"].cast<std::string>();
  // As the CLI: the default store gets the starter knowledge base on first use, and its cost
  // model ranks candidates when none is named (not when deliver tunes within a budget).
  if (store->store) {
    const bool tunes = kw.contains("budget") && kw["budget"].cast<double>() > 0;
    Check(ApplyStarterKb(*store->store, store->dsn, kw["store"].cast<std::string>().empty(),
                         tunes ? nullptr : &bo.cost_model));
  }
  bo.input_shapes = kw["input_shapes"].cast<ShapeMap>();
  bo.runtime_inputs = kw["inputs"].cast<std::vector<std::string>>();
  bo.jobs = kw["jobs"].cast<int>();
  bo.retime_top = kw["retime"].cast<int>();
  const std::string cache = kw["cache"].cast<std::string>();
  bo.cache_dir = cache.empty() ? DefaultPythonKernelCache() : cache;
  return bo;
}

std::string BuildJson(const py::dict& kw) {
  StoreChoice store;
  BuildOptions bo = MakeBuildOptions(kw, &store);
  Result<BuildReport> r = Status(ErrorCode::kInternal, "not run");
  {
    py::gil_scoped_release release;
    r = BuildModel(bo);
  }
  return Unwrap(std::move(r)).ToJson().dump();
}

std::string DeliverJson(const py::dict& kw) {
  DeliverOptions d;
  StoreChoice store;
  d.build = MakeBuildOptions(kw, &store);
  if (!d.build.store)
    Raise(Status(ErrorCode::kInvalidArgument, "deliver needs a store (store=False was given)"));
  d.budget_s = kw["budget"].cast<double>();
  d.bench_runs = kw["runs"].cast<int>();
  d.threads = kw["threads"].cast<int>();
  d.progress = kw["quiet"].cast<bool>() ? ProgressStyle::kQuiet : ProgressStyle::kAuto;
  if (kw["compare_pytorch"].cast<bool>())
    d.torch_peer_script = std::string(OPAL_SOURCE_DIR) + "/bench/e2e/torch_peer.py";
  Result<DeliverReport> r = Status(ErrorCode::kInternal, "not run");
  {
    py::gil_scoped_release release;
    r = Deliver(d);
  }
  return Unwrap(std::move(r)).ToJson().dump();
}

}  // namespace

void BindBuild(py::module_& m) {
  m.def("target_json", &TargetJson, py::arg("spec") = "",
        "opal.target/1 JSON of the host ('' or 'host') or of a target string.");
  m.def("tasks_json", &TasksJson, py::arg("path"), py::arg("input_shapes") = ShapeMap{},
        py::arg("target") = "", "opal.tasks/1 JSON of an ONNX file.");
  m.def("build_json", &BuildJson, py::arg("options"),
        "Builds a model (keys: model, out_dir, store, cost_model, input_shapes, inputs, jobs, "
        "retime, cache); returns the opal.build/1 manifest as JSON text.");
  m.def("deliver_json", &DeliverJson, py::arg("options"),
        "opal deliver (build's keys and budget, runs, threads, quiet, compare_pytorch); returns "
        "opal.deliver/1 JSON text.");
  m.def("default_store_dsn", &RecordStore::DefaultDsn, "The store used when none is given.");
  m.def("default_kernel_cache", &DefaultPythonKernelCache,
        "The kernel cache folder the package uses when none is given.");
}

}  // namespace opal::python
