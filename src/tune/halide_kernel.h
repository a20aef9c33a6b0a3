// Builds a Halide JIT kernel for one (workload, config) of the "contraction" template
// (contraction.h, contraction_space.h); contraction_halide.h holds the Halide objects.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "opal/status.h"
#include "opal/tuning_space.h"
#include "opal/workload.h"

namespace opal::tune {

// A compiled kernel. Run reads the operands in the layouts of OperandsOf(w) (inputs must be
// 64-byte aligned) and writes the whole output. Not thread-safe: one caller at a time.
class Kernel {
 public:
  virtual ~Kernel() = default;
  // kFailed with Halide's message when the kernel reports an error (bounds, allocation).
  virtual Status Run(const std::vector<const float*>& inputs, float* output) = 0;
  // Re-lays out the operands the kernel reads in a form of its own (the weights of a conv
  // `chan` config, PackChanWeights), as a framework re-lays out weights once when it loads a
  // model: the caller calls it once, outside any timing, and Run then reads that copy while it
  // is given the same operand pointer (a new pointer is re-laid out again inside Run).
  virtual void Prepare(const std::vector<const float*>& inputs) { (void)inputs; }
};

struct KernelBuildOptions {
  // Test-only: build a kernel that adds 1 to one output element (a wrong result).
  bool inject_wrong_result = false;
};

// Compiles `config` for `w` for the host. kFailed with the compiler's message when Halide
// rejects the schedule; kUnsupported for a workload outside the template.
Result<std::unique_ptr<Kernel>> BuildHalideKernel(const Workload& w, const Config& config,
                                                  const KernelBuildOptions& options = {});

// "14.0.0" and the LLVM version Halide was built against.
std::string HalideVersionString();
std::string HalideLlvmVersionString();

}  // namespace opal::tune
