// opal._opal.Model: a built model (the folder `opal build` wrote) loaded through
// opal/model_library.h. Inputs and outputs are passed as raw addresses of dense buffers that the
// Python layer has checked (dtype, shape, C-contiguity): the runtime reads and writes the NumPy
// arrays' or torch tensors' own memory, nothing is copied. Runs release the GIL.
#include <pybind11/stl.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bindings.h"
#include "errors.h"
#include "opal/latency_stats.h"
#include "opal/model_library.h"

namespace py = pybind11;

namespace opal::python {
namespace {

using runtime::ModelLibrary;
using runtime::ModelTensorInfo;

class Model {
 public:
  Model(const std::string& dir, int threads) {
    Result<std::unique_ptr<ModelLibrary>> lib = Status(ErrorCode::kInternal, "not run");
    {
      py::gil_scoped_release release;
      lib = ModelLibrary::Open(dir, threads);
    }
    lib_ = Unwrap(std::move(lib));
  }

  std::string Description() const { return lib_->description(); }
  py::list Inputs() const { return Infos(lib_->inputs()); }
  py::list Outputs() const { return Infos(lib_->outputs()); }
  std::vector<std::string> StepNodes() const { return lib_->StepNodes(); }

  void Run(const std::vector<uintptr_t>& in, const std::vector<uintptr_t>& out) {
    Pointers p = Check(in, out);
    Status st;
    {
      py::gil_scoped_release release;
      st = lib_->RunBuffers(p.in.data(), p.out.data());
    }
    python::Check(st);
  }

  // Latency percentiles (ms) of `runs` timed runs after `warmup` untimed ones.
  py::dict Bench(const std::vector<uintptr_t>& in, const std::vector<uintptr_t>& out, int warmup,
                 int runs) {
    if (runs < 1) Raise(Status(ErrorCode::kInvalidArgument, "bench: runs must be at least 1"));
    Pointers p = Check(in, out);
    Status st;
    std::vector<double> ms;
    {
      py::gil_scoped_release release;
      for (int i = 0; i < warmup && st.ok(); ++i) st = lib_->RunBuffers(p.in.data(), p.out.data());
      for (int i = 0; i < runs && st.ok(); ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        st = lib_->RunBuffers(p.in.data(), p.out.data());
        ms.push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      }
    }
    python::Check(st);
    const runtime::LatencyStats s = runtime::SummarizeLatencies(std::move(ms));
    py::dict d;
    d["runs"] = s.runs;
    d["warmup"] = warmup;
    d["min_ms"] = s.min_ms;
    d["p50_ms"] = s.p50_ms;
    d["p90_ms"] = s.p90_ms;
    d["p99_ms"] = s.p99_ms;
    d["mean_ms"] = s.mean_ms;
    d["max_ms"] = s.max_ms;
    return d;
  }

  // Each kernel call's mean wall time (seconds) over `runs` profiled runs, in run order.
  std::vector<double> Profile(const std::vector<uintptr_t>& in, const std::vector<uintptr_t>& out,
                              int runs) {
    if (runs < 1) Raise(Status(ErrorCode::kInvalidArgument, "profile: runs must be at least 1"));
    Pointers p = Check(in, out);
    Status st;
    std::vector<double> seconds;
    {
      py::gil_scoped_release release;
      for (int i = 0; i < runs && st.ok(); ++i)
        st = lib_->RunBuffers(p.in.data(), p.out.data(), &seconds);
    }
    python::Check(st);
    for (double& s : seconds) s /= runs;
    return seconds;
  }

 private:
  struct Pointers {
    std::vector<const void*> in;
    std::vector<void*> out;
  };

  static py::list Infos(const std::vector<ModelTensorInfo>& infos) {
    py::list l;
    for (const ModelTensorInfo& i : infos)
      l.append(py::make_tuple(i.name, DTypeName(i.dtype), i.shape, i.bytes));
    return l;
  }

  Pointers Check(const std::vector<uintptr_t>& in, const std::vector<uintptr_t>& out) const {
    if (in.size() != lib_->inputs().size())
      Raise(Error(ErrorCode::kInvalidArgument, "the model takes {} inputs, {} given",
                  lib_->inputs().size(), in.size()));
    if (out.size() != lib_->outputs().size())
      Raise(Error(ErrorCode::kInvalidArgument, "the model has {} outputs, {} buffers given",
                  lib_->outputs().size(), out.size()));
    Pointers p;
    for (uintptr_t a : in) p.in.push_back(reinterpret_cast<const void*>(a));
    for (uintptr_t a : out) p.out.push_back(reinterpret_cast<void*>(a));
    for (size_t i = 0; i < p.out.size(); ++i)
      if (!p.out[i] && lib_->outputs()[i].bytes > 0)
        Raise(Status(ErrorCode::kInvalidArgument, "a null output buffer"));
    return p;
  }

  std::unique_ptr<ModelLibrary> lib_;
};

}  // namespace

void BindModel(py::module_& m) {
  py::class_<Model>(m, "Model", "A built model loaded through its C API (internal).")
      .def(py::init<const std::string&, int>(), py::arg("dir"), py::arg("threads") = 0)
      .def_property_readonly("description", &Model::Description)
      .def_property_readonly("inputs", &Model::Inputs, "[(name, dtype, shape, bytes)]")
      .def_property_readonly("outputs", &Model::Outputs, "[(name, dtype, shape, bytes)]")
      .def("step_nodes", &Model::StepNodes, "The node(s) each kernel call computes, in run order.")
      .def("run", &Model::Run, py::arg("inputs"), py::arg("outputs"),
           "Runs on dense buffers given by address (checked by the caller).")
      .def("bench", &Model::Bench, py::arg("inputs"), py::arg("outputs"), py::arg("warmup"),
           py::arg("runs"))
      .def("profile", &Model::Profile, py::arg("inputs"), py::arg("outputs"), py::arg("runs"));
}

}  // namespace opal::python
