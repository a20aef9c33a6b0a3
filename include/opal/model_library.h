// A built model (the folder `opal build` wrote: libmodel.so + weights.bin) loaded into opal
// itself: dlopens DIR/libmodel.so privately (RTLD_NOW | RTLD_LOCAL, so each model keeps its own
// Halide runtime), resolves the C API of include/opal/runtime.h, and loads the model.
//
// Thread safety: Run calls on one ModelLibrary are serialised by the library itself.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "opal/status.h"
#include "opal/tensor.h"
#include "opal/latency_stats.h"

namespace opal::runtime {

struct ModelTensorInfo {
  std::string name;
  DType dtype = DType::kUndefined;
  Shape shape;
  size_t bytes = 0;
};

class ModelLibrary {
 public:
  // Errors: kNotFound (no DIR, no DIR/libmodel.so, no DIR/weights.bin), kInvalidModel (dlopen
  // fails, a C API symbol is missing, the library's program or weights do not fit together:
  // the message is the runtime's), kUnsupported (a dtype opal cannot represent), kFailed (out of
  // memory). num_threads <= 0: the cores this process may use.
  static Result<std::unique_ptr<ModelLibrary>> Open(const std::string& dir, int num_threads = 0);
  ~ModelLibrary();
  ModelLibrary(const ModelLibrary&) = delete;
  ModelLibrary& operator=(const ModelLibrary&) = delete;

  const std::string& dir() const { return dir_; }
  // "NAME | TARGET | opal VERSION", as the builder wrote it.
  const std::string& description() const { return description_; }
  const std::vector<ModelTensorInfo>& inputs() const { return inputs_; }
  const std::vector<ModelTensorInfo>& outputs() const { return outputs_; }

  // Inputs in the model's order, with its dtypes and shapes (else kInvalidArgument naming the
  // input). A kernel failure is kFailed with the runtime's message (it names the node).
  Result<std::vector<Tensor>> Run(const std::vector<Tensor>& inputs);
  // As Run, reusing `outputs` when it already holds tensors of the right dtypes and shapes (no
  // allocation per call: what benchmarks use).
  // With step_seconds, each kernel call's wall time (seconds) is added to (*step_seconds)[i]
  // (resized to StepNodes().size() when needed).
  Status RunInto(const std::vector<Tensor>& inputs, std::vector<Tensor>* outputs,
                 std::vector<double>* step_seconds = nullptr);
  // Runs on memory the caller owns, without copying it: inputs[i] points to the dense bytes of
  // input i (inputs()[i].bytes of them, any alignment), outputs[i] to a writable buffer of
  // outputs()[i].bytes bytes, which is overwritten. The caller vouches for dtypes, shapes and sizes
  // (nothing here can check raw pointers); bindings such as the Python package check them first.
  // step_seconds and errors as RunInto.
  Status RunBuffers(const void* const* inputs, void* const* outputs,
                    std::vector<double>* step_seconds = nullptr);
  // Latency of RunInto over `runs` timed runs after `warmup` untimed ones (same inputs).
  Result<LatencyStats> Bench(const std::vector<Tensor>& inputs, int warmup, int runs);
  // The graph node each kernel call (step) computes, in run order.
  std::vector<std::string> StepNodes() const;

 private:
  struct Api;
  ModelLibrary() = default;
  // The runtime call of RunInto and RunBuffers; the caller holds mu_.
  Status CallRuntime(const void* const* inputs, void* const* outputs,
                     std::vector<double>* step_seconds);

  std::string dir_;
  std::string description_;
  void* handle_ = nullptr;
  std::unique_ptr<Api> api_;
  void* model_ = nullptr;  // opal_model*
  std::vector<ModelTensorInfo> inputs_, outputs_;
  std::vector<const void*> in_ptrs_;
  std::vector<void*> out_ptrs_;
  std::mutex mu_;  // guards the pointer arrays during RunInto
};

}  // namespace opal::runtime
