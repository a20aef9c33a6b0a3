// The measurement protocol shared by every framework whose kernels run on this host's CPU:
// build in a sandboxed child (sandbox.h), fill the inputs with fresh random values (uniform in
// [-1, 1], never all zeros) in 64-byte aligned buffers, fill the output with NaN, run once and
// compare with the reference kernel, then take the device lock, warm up and time the repeats.
//
// Verification: every output element must be written (no NaN left) and match the reference
// within 1e-4 * sum|a*b| + 1e-6 (the scale of fp32 rounding over the reduction). Small
// workloads (<= 3e7 multiply-accumulates) are checked in full; larger ones on every element of
// the first and last row and column of each batch plus 4096 random elements.
#pragma once

#include <functional>
#include <memory>

#include "opal/tuning_framework.h"
#include "opal/tuning_kernel.h"

namespace opal::tune {

using KernelBuilder = std::function<Result<std::unique_ptr<Kernel>>(bool inject_wrong_result)>;

TrialResult MeasureKernel(const Workload& w, const Target& t, const KernelBuilder& build,
                          const MeasureOptions& options, InjectedFault fault);

}  // namespace opal::tune
