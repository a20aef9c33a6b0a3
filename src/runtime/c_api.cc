// The C API of include/opal/runtime.h over the executor. Only these functions are exported from
// a built model (the rest of opal_rt is hidden); no exception crosses the C boundary.
#include <sched.h>

#include <exception>
#include <memory>
#include <new>
#include <string>
#include <thread>

#pragma GCC visibility push(default)
#include "opal/runtime.h"
#pragma GCC visibility pop

#include "runtime/executor.h"
#include "runtime/thread_pool.h"

struct opal_model {
  std::unique_ptr<opal_rt::Executor> exec;
};

namespace {

thread_local std::string t_last_error;

int Fail(const opal_rt::RtStatus& s) {
  t_last_error = s.message;
  return s.code;
}

int Fail(int code, const char* message) {
  t_last_error = message;
  return code;
}

int UsableCores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  const unsigned n = std::thread::hardware_concurrency();
  return n ? static_cast<int>(n) : 1;
}

int Info(const opal_model* m, int index, bool input, opal_tensor_info* info) {
  t_last_error.clear();
  if (!m || !info) return Fail(OPAL_ERR_ARGUMENT, "opal_model_*_info: null model or info");
  const opal_rt::ProgramDesc& p = m->exec->program();
  const int n = input ? p.num_inputs : p.num_outputs;
  if (index < 0 || index >= n) {
    t_last_error = std::string(input ? "input" : "output") + " index " + std::to_string(index) +
                   " is out of range: the model has " + std::to_string(n);
    return OPAL_ERR_ARGUMENT;
  }
  const opal_rt::TensorDesc& t = p.tensors[input ? p.inputs[index] : p.outputs[index]];
  info->name = t.name ? t.name : "";
  info->dtype = t.dtype;
  info->rank = t.rank;
  info->dims = t.dims;
  info->bytes = static_cast<size_t>(t.bytes);
  return OPAL_OK;
}

}  // namespace

extern "C" {

int opal_model_load(const char* dir, int num_threads, opal_model** out) {
  t_last_error.clear();
  if (!dir || !out) return Fail(OPAL_ERR_ARGUMENT, "opal_model_load: null dir or out");
  *out = nullptr;
  try {
    const opal_rt::ProgramDesc* p = opal_program();
    if (!p)
      return Fail(OPAL_ERR_ARGUMENT, "the model library has no program (opal_program() is null)");
    std::unique_ptr<opal_model> m(new opal_model);
    opal_rt::RtStatus s = opal_rt::Executor::Load(*p, dir, &m->exec);
    if (!s.ok()) return Fail(s);
    const int threads = num_threads > 0 ? num_threads : UsableCores();
    halide_set_num_threads(threads);
    opal_rt::InstallThreadPool();
    opal_rt::SetPoolThreads(threads);
    *out = m.release();
    return OPAL_OK;
  } catch (const std::bad_alloc&) {
    return Fail(OPAL_ERR_MEMORY, "out of memory while loading the model");
  } catch (const std::exception& e) {
    return Fail(OPAL_ERR_ARGUMENT, e.what());
  }
}

int opal_model_num_inputs(const opal_model* m) { return m ? m->exec->program().num_inputs : 0; }
int opal_model_num_outputs(const opal_model* m) { return m ? m->exec->program().num_outputs : 0; }

int opal_model_input_info(const opal_model* m, int index, opal_tensor_info* info) {
  return Info(m, index, true, info);
}
int opal_model_output_info(const opal_model* m, int index, opal_tensor_info* info) {
  return Info(m, index, false, info);
}

int opal_model_run(opal_model* m, const void* const* inputs, void* const* outputs) {
  t_last_error.clear();
  if (!m) return Fail(OPAL_ERR_ARGUMENT, "opal_model_run: null model");
  try {
    opal_rt::RtStatus s = m->exec->Run(inputs, outputs);
    return s.ok() ? OPAL_OK : Fail(s);
  } catch (const std::exception& e) {
    return Fail(OPAL_ERR_MEMORY, e.what());
  }
}

int opal_model_num_steps(const opal_model* m) { return m ? m->exec->program().num_steps : 0; }

const char* opal_model_step_node(const opal_model* m, int step) {
  if (!m || step < 0 || step >= m->exec->program().num_steps) return "";
  const char* n = m->exec->program().steps[step].node;
  return n ? n : "";
}

int opal_model_run_profiled(opal_model* m, const void* const* inputs, void* const* outputs,
                            double* step_seconds) {
  t_last_error.clear();
  if (!m || !step_seconds) return Fail(OPAL_ERR_ARGUMENT, "opal_model_run_profiled: null model or times");
  try {
    opal_rt::RtStatus s = m->exec->Run(inputs, outputs, step_seconds);
    return s.ok() ? OPAL_OK : Fail(s);
  } catch (const std::exception& e) {
    return Fail(OPAL_ERR_MEMORY, e.what());
  }
}

void opal_model_free(opal_model* m) { delete m; }

const char* opal_last_error(void) { return t_last_error.c_str(); }

const char* opal_model_description(const opal_model* m) {
  if (!m) return "";
  const char* d = m->exec->program().description;
  return d ? d : "";
}

}  // extern "C"
