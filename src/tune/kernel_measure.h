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
#include <string>
#include <vector>

#include "opal/tuning_framework.h"
#include "opal/tuning_kernel.h"

namespace opal::tune {

using KernelBuilder = std::function<Result<std::unique_ptr<Kernel>>(bool inject_wrong_result)>;

TrialResult MeasureKernel(const Workload& w, const Target& t, const KernelBuilder& build,
                          const MeasureOptions& options, InjectedFault fault);

// Times several kernels of one workload side by side in one sandboxed child: builds them all (no
// kernel is timed while one compiles), verifies each as above, then `rounds` rounds, each timing
// every kernel once (one repeat: a loop of calls lasting >= options.min_repeat_s), back to back
// on the same operands, the order rotating each round. Kernels timed a few milliseconds apart meet
// the same machine state, so a round's times compare even when the machine's speed drifts or
// jumps between rounds. Returns per kernel its seconds per call in each round it ran (empty when
// it failed: why is in `errors`, when given). A crash or hang of one kernel ends the child: every
// kernel without times then carries that error.
std::vector<std::vector<double>> MeasureKernelsSideBySide(
    const Workload& w, const Target& t, const std::vector<KernelBuilder>& builds,
    const MeasureOptions& options, int rounds, std::vector<std::string>* errors = nullptr);

}  // namespace opal::tune
