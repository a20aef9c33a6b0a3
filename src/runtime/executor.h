// The executor of a built model: owns the weights mapping, the arena and one halide_buffer_t per
// kernel argument (built once at load), and runs the program's steps in order.
#pragma once

#include <HalideRuntime.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/program.h"
#include "runtime/rt_status.h"
#include "runtime/weights_file.h"

namespace opal_rt {

class Executor {
 public:
  // Checks `program`, maps DIR/weights.bin, allocates the arena and builds the kernel buffers.
  // `program` must outlive the executor (it is the library's static table).
  static RtStatus Load(const ProgramDesc& program, const std::string& dir,
                       std::unique_ptr<Executor>* out);
  ~Executor();

  const ProgramDesc& program() const { return p_; }

  // Copies the inputs into the arena, runs every step, copies the outputs out. Serialised per
  // executor. OPAL_ERR_KERNEL names the failing step's node and carries Halide's message.
  // step_seconds (optional, num_steps entries): each step's wall time is added to it.
  RtStatus Run(const void* const* inputs, void* const* outputs, double* step_seconds = nullptr);

 private:
  explicit Executor(const ProgramDesc& p) : p_(p) {}
  uint8_t* TensorData(int32_t tensor) const;

  const ProgramDesc& p_;
  WeightsFile weights_;
  uint8_t* arena_ = nullptr;  // 64-byte aligned, never null
  std::vector<halide_dimension_t> dims_;
  std::vector<halide_buffer_t> buffers_;  // one per ArgDesc
  std::vector<void*> argv_;               // per step, its buffers' addresses, concatenated
  std::vector<size_t> step_argv_;         // start of each step in argv_
  std::mutex mu_;
};

// Installs the Halide error handler that records messages for KernelErrorText (once per
// library; idempotent).
void InstallHalideErrorHandler();

}  // namespace opal_rt
