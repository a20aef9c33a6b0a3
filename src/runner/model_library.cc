#include "opal/model_library.h"

#include <dlfcn.h>

#include <algorithm>
#include <chrono>

#include <filesystem>

#include "opal/runtime.h"

namespace opal::runtime {

struct ModelLibrary::Api {
  decltype(&opal_model_load) load;
  decltype(&opal_model_num_inputs) num_inputs;
  decltype(&opal_model_num_outputs) num_outputs;
  decltype(&opal_model_input_info) input_info;
  decltype(&opal_model_output_info) output_info;
  decltype(&opal_model_run) run;
  decltype(&opal_model_free) free;
  decltype(&opal_last_error) last_error;
  decltype(&opal_model_description) description;
  decltype(&opal_model_num_steps) num_steps;
  decltype(&opal_model_step_node) step_node;
  decltype(&opal_model_run_profiled) run_profiled;
};

namespace {

namespace fs = std::filesystem;

template <typename F>
Status Resolve(void* handle, const std::string& lib, const char* name, F* fn) {
  dlerror();
  *fn = reinterpret_cast<F>(dlsym(handle, name));
  if (!*fn) {
    return Error(ErrorCode::kInvalidModel,
                 "{} does not export {}: it is not a model library built by `opal build`", lib,
                 name);
  }
  return Status::Ok();
}

ErrorCode CodeForLoad(int rc) {
  switch (rc) {
    case OPAL_ERR_MEMORY:
      return ErrorCode::kFailed;
    default:
      return ErrorCode::kInvalidModel;  // weights and library do not fit together
  }
}

Result<ModelTensorInfo> ConvertInfo(const opal_tensor_info& ti, const char* what) {
  ModelTensorInfo info;
  info.name = ti.name ? ti.name : "";
  auto dt = DTypeFromOnnx(ti.dtype);
  if (!dt.ok()) {
    return Error(ErrorCode::kUnsupported, "model {} '{}' has ONNX dtype {}, which opal cannot hold",
                 what, info.name, ti.dtype);
  }
  info.dtype = *dt;
  info.shape.assign(ti.dims, ti.dims + ti.rank);
  info.bytes = ti.bytes;
  return info;
}

}  // namespace

Result<std::unique_ptr<ModelLibrary>> ModelLibrary::Open(const std::string& dir, int num_threads) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return Error(ErrorCode::kNotFound,
                 "model folder {} does not exist; give the folder `opal build -o` wrote", dir);
  }
  const std::string lib = (fs::path(dir) / "libmodel.so").string();
  if (!fs::exists(lib, ec)) {
    return Error(ErrorCode::kNotFound,
                 "{} has no libmodel.so: it is not a folder written by `opal build`", dir);
  }
  if (!fs::exists(fs::path(dir) / "weights.bin", ec)) {
    return Error(
        ErrorCode::kNotFound,
        "{} has no weights.bin: copy it beside libmodel.so (both come from one `opal build`)", dir);
  }
  std::unique_ptr<ModelLibrary> m(new ModelLibrary);
  m->dir_ = dir;
  // An absolute path, so that dlopen never searches the library path for it.
  const std::string abs = fs::absolute(lib, ec).string();
  m->handle_ = dlopen(abs.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!m->handle_) {
    const char* err = dlerror();
    return Error(ErrorCode::kInvalidModel, "cannot load {}: {}", lib,
                 err ? err : "unknown dlopen error");
  }
  m->api_ = std::make_unique<Api>();
  Api& a = *m->api_;
  OPAL_RETURN_IF_ERROR(Resolve(m->handle_, lib, "opal_model_load", &a.load));
  OPAL_RETURN_IF_ERROR(Resolve(m->handle_, lib, "opal_model_num_inputs", &a.num_inputs));
  OPAL_RETURN_IF_ERROR(Resolve(m->handle_, lib, "opal_model_num_outputs", &a.num_outputs));
  OPAL_RETURN_IF_ERROR(Resolve(m->handle_, lib, "opal_model_input_info", &a.input_info));
  OPAL_RETURN_IF_ERROR(Resolve(m->handle_, lib, "opal_model_output_info", &a.output_info));
  OPAL_RETURN_IF_ERROR(Resolve(m->handle_, lib, "opal_model_run", &a.run));
  OPAL_RETURN_IF_ERROR(Resolve(m->handle_, lib, "opal_model_free", &a.free));
  OPAL_RETURN_IF_ERROR(Resolve(m->handle_, lib, "opal_last_error", &a.last_error));
  OPAL_RETURN_IF_ERROR(Resolve(m->handle_, lib, "opal_model_description", &a.description));
  OPAL_RETURN_IF_ERROR(Resolve(m->handle_, lib, "opal_model_num_steps", &a.num_steps));
  OPAL_RETURN_IF_ERROR(Resolve(m->handle_, lib, "opal_model_step_node", &a.step_node));
  OPAL_RETURN_IF_ERROR(Resolve(m->handle_, lib, "opal_model_run_profiled", &a.run_profiled));

  opal_model* model = nullptr;
  int rc = a.load(dir.c_str(), num_threads, &model);
  if (rc != OPAL_OK) return Status(CodeForLoad(rc), a.last_error());
  m->model_ = model;
  m->description_ = a.description(model);
  for (int input = 1; input >= 0; --input) {
    const int n = input ? a.num_inputs(model) : a.num_outputs(model);
    auto& infos = input ? m->inputs_ : m->outputs_;
    for (int i = 0; i < n; ++i) {
      opal_tensor_info ti{};
      rc = input ? a.input_info(model, i, &ti) : a.output_info(model, i, &ti);
      if (rc != OPAL_OK) return Status(ErrorCode::kInvalidModel, a.last_error());
      OPAL_ASSIGN_OR_RETURN(ModelTensorInfo info, ConvertInfo(ti, input ? "input" : "output"));
      infos.push_back(std::move(info));
    }
  }
  m->in_ptrs_.resize(m->inputs_.size());
  m->out_ptrs_.resize(m->outputs_.size());
  return m;
}

ModelLibrary::~ModelLibrary() {
  if (model_) api_->free(static_cast<opal_model*>(model_));
  if (handle_) dlclose(handle_);
}

Status ModelLibrary::RunInto(const std::vector<Tensor>& inputs, std::vector<Tensor>* outputs,
                             std::vector<double>* step_seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  if (inputs.size() != inputs_.size()) {
    return Error(ErrorCode::kInvalidArgument, "the model takes {} inputs, {} given", inputs_.size(),
                 inputs.size());
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    const ModelTensorInfo& want = inputs_[i];
    const Tensor& t = inputs[i];
    if (t.dtype() != want.dtype || t.shape() != want.shape) {
      return Error(ErrorCode::kInvalidArgument, "input '{}' must be {} {}, got {} {}", want.name,
                   DTypeName(want.dtype), ShapeToString(want.shape), DTypeName(t.dtype()),
                   ShapeToString(t.shape()));
    }
    OPAL_CHECK(t.nbytes() == want.bytes, "input '{}' has {} bytes, the runtime says {}", want.name,
               t.nbytes(), want.bytes);
    in_ptrs_[i] = t.raw();
  }
  bool reuse = outputs->size() == outputs_.size();
  for (size_t i = 0; reuse && i < outputs_.size(); ++i) {
    reuse =
        (*outputs)[i].dtype() == outputs_[i].dtype && (*outputs)[i].shape() == outputs_[i].shape;
  }
  if (!reuse) {
    outputs->clear();
    for (const ModelTensorInfo& o : outputs_) outputs->emplace_back(o.dtype, o.shape);
  }
  for (size_t i = 0; i < outputs_.size(); ++i) out_ptrs_[i] = (*outputs)[i].raw();
  return CallRuntime(in_ptrs_.data(), out_ptrs_.data(), step_seconds);
}

Status ModelLibrary::RunBuffers(const void* const* inputs, void* const* outputs,
                                std::vector<double>* step_seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  return CallRuntime(inputs, outputs, step_seconds);
}

Status ModelLibrary::CallRuntime(const void* const* inputs, void* const* outputs,
                                 std::vector<double>* step_seconds) {
  opal_model* m = static_cast<opal_model*>(model_);
  if (step_seconds) step_seconds->resize(static_cast<size_t>(api_->num_steps(m)), 0.0);
  const int rc = step_seconds ? api_->run_profiled(m, inputs, outputs, step_seconds->data())
                              : api_->run(m, inputs, outputs);
  if (rc != OPAL_OK) {
    const ErrorCode code =
        rc == OPAL_ERR_ARGUMENT ? ErrorCode::kInvalidArgument : ErrorCode::kFailed;
    return Status(code, std::string(api_->last_error()));
  }
  return Status::Ok();
}

Result<LatencyStats> ModelLibrary::Bench(const std::vector<Tensor>& inputs, int warmup, int runs) {
  std::vector<Tensor> outputs;
  for (int i = 0; i < warmup; ++i) OPAL_RETURN_IF_ERROR(RunInto(inputs, &outputs));
  std::vector<double> ms;
  ms.reserve(static_cast<size_t>(std::max(runs, 0)));
  for (int i = 0; i < runs; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    OPAL_RETURN_IF_ERROR(RunInto(inputs, &outputs));
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  return SummarizeLatencies(std::move(ms));
}

std::vector<std::string> ModelLibrary::StepNodes() const {
  std::vector<std::string> nodes;
  opal_model* m = static_cast<opal_model*>(model_);
  for (int i = 0; i < api_->num_steps(m); ++i) nodes.push_back(api_->step_node(m, i));
  return nodes;
}

Result<std::vector<Tensor>> ModelLibrary::Run(const std::vector<Tensor>& inputs) {
  std::vector<Tensor> outputs;
  OPAL_RETURN_IF_ERROR(RunInto(inputs, &outputs));
  return outputs;
}

}  // namespace opal::runtime
