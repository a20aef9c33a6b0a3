#include "runtime/executor.h"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "runtime/program_check.h"
#include "runtime/rt_dtype.h"

namespace opal_rt {
namespace {

// Halide reports errors through a process-wide (per library) handler. The text goes to the
// calling thread's slot; a message raised on a Halide worker thread goes to the shared slot.
thread_local std::string t_halide_error;
std::mutex g_shared_error_mu;
std::string g_shared_error;

void RecordHalideError(void* /*user_context*/, const char* msg) {
  std::string m = msg ? msg : "";
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  for (char& c : m) {
    if (c == '\n') c = ' ';
  }
  t_halide_error = m;
  std::lock_guard<std::mutex> lock(g_shared_error_mu);
  g_shared_error = m;
}

void ClearHalideError() {
  t_halide_error.clear();
  std::lock_guard<std::mutex> lock(g_shared_error_mu);
  g_shared_error.clear();
}

std::string HalideErrorText() {
  if (!t_halide_error.empty()) return t_halide_error;
  std::lock_guard<std::mutex> lock(g_shared_error_mu);
  return g_shared_error.empty() ? std::string("no message") : g_shared_error;
}

}  // namespace

void InstallHalideErrorHandler() {
  static std::once_flag once;
  std::call_once(once, [] { halide_set_error_handler(RecordHalideError); });
}

Executor::~Executor() { std::free(arena_); }

uint8_t* Executor::TensorData(int32_t tensor) const {
  const TensorDesc& t = p_.tensors[tensor];
  const uint8_t* base = t.storage == kArena ? arena_ : weights_.data();
  return const_cast<uint8_t*>(base) + t.offset;
}

RtStatus Executor::Load(const ProgramDesc& program, const std::string& dir,
                        std::unique_ptr<Executor>* out) {
  RtStatus s = CheckProgram(program);
  if (!s.ok()) return s;
  std::unique_ptr<Executor> e(new Executor(program));
  const ProgramDesc& p = e->p_;
  s = e->weights_.Open(dir, p.weights_bytes, p.weights_hash);
  if (!s.ok()) return s;

  const size_t arena = (static_cast<size_t>(p.arena_bytes) + 63) / 64 * 64;
  e->arena_ = static_cast<uint8_t*>(std::aligned_alloc(64, arena ? arena : 64));
  if (!e->arena_) {
    return RtError(OPAL_ERR_MEMORY, "cannot allocate the model's arena of %lld bytes",
                   static_cast<long long>(p.arena_bytes));
  }
  std::memset(e->arena_, 0, arena);

  size_t total_dims = 0;
  for (int i = 0; i < p.num_args; ++i) total_dims += static_cast<size_t>(p.args[i].rank);
  e->dims_.resize(total_dims);
  e->buffers_.resize(static_cast<size_t>(p.num_args));
  size_t d = 0;
  for (int i = 0; i < p.num_args; ++i) {
    const ArgDesc& a = p.args[i];
    halide_buffer_t& b = e->buffers_[i];
    b = halide_buffer_t();
    b.host = e->TensorData(a.tensor);
    b.type = HalideTypeOf(p.tensors[a.tensor].dtype);
    b.dimensions = a.rank;
    b.dim = a.rank ? &e->dims_[d] : nullptr;
    for (int k = 0; k < a.rank; ++k, ++d) {
      e->dims_[d] = halide_dimension_t(0, static_cast<int32_t>(a.extents[k]),
                                       static_cast<int32_t>(a.strides[k]));
    }
  }
  for (int i = 0; i < p.num_steps; ++i) {
    e->step_argv_.push_back(e->argv_.size());
    for (int k = 0; k < p.steps[i].num_args; ++k) {
      e->argv_.push_back(&e->buffers_[p.steps[i].args[k]]);
    }
  }
  InstallHalideErrorHandler();
  *out = std::move(e);
  return RtOk();
}

RtStatus Executor::Run(const void* const* inputs, void* const* outputs, double* step_seconds) {
  if ((p_.num_inputs > 0 && !inputs) || (p_.num_outputs > 0 && !outputs)) {
    return RtError(OPAL_ERR_ARGUMENT, "opal_model_run: null inputs or outputs array");
  }
  for (int i = 0; i < p_.num_inputs; ++i) {
    if (!inputs[i] && p_.tensors[p_.inputs[i]].bytes > 0) {
      return RtError(OPAL_ERR_ARGUMENT, "opal_model_run: input %d ('%s') is null", i,
                     p_.tensors[p_.inputs[i]].name);
    }
  }
  for (int i = 0; i < p_.num_outputs; ++i) {
    if (!outputs[i] && p_.tensors[p_.outputs[i]].bytes > 0) {
      return RtError(OPAL_ERR_ARGUMENT, "opal_model_run: output %d ('%s') is null", i,
                     p_.tensors[p_.outputs[i]].name);
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (int i = 0; i < p_.num_inputs; ++i) {
    const TensorDesc& t = p_.tensors[p_.inputs[i]];
    if (t.bytes) std::memcpy(TensorData(p_.inputs[i]), inputs[i], static_cast<size_t>(t.bytes));
  }
  for (int i = 0; i < p_.num_steps; ++i) {
    const StepDesc& st = p_.steps[i];
    for (int k = 0; k < st.num_args; ++k) {
      halide_buffer_t& b = buffers_[st.args[k]];
      b.flags = 0;  // Halide marks outputs host_dirty; stale flags would read as device data
      b.device = 0;
      b.device_interface = nullptr;
    }
    ClearHalideError();
    const auto t0 = step_seconds ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
    const int rc = p_.kernels[st.kernel](&argv_[step_argv_[i]]);
    if (step_seconds)
      step_seconds[i] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (rc != 0) {
      return RtError(OPAL_ERR_KERNEL, "step %d (node '%s') failed: Halide error %d: %s", i,
                     st.node ? st.node : "?", rc, HalideErrorText().c_str());
    }
  }
  for (int i = 0; i < p_.num_outputs; ++i) {
    const TensorDesc& t = p_.tensors[p_.outputs[i]];
    if (t.bytes) std::memcpy(outputs[i], TensorData(p_.outputs[i]), static_cast<size_t>(t.bytes));
  }
  return RtOk();
}

}  // namespace opal_rt
