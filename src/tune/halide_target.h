// The Halide target for code that runs on this host (JIT kernels of the tuner, AOT kernels of the
// builder, the JIT evaluator of tests). Includes Halide.h.
#pragma once

#include <Halide.h>

namespace opal::tune {

// Halide's host target, minus features the CPU does not have: Halide 14 reports AMD Zen 4/5 as
// avx512_sapphirerapids, whose code uses AVX512-FP16 instructions those CPUs lack (an illegal
// instruction in vectorised int64 selects), so that feature is dropped unless /proc/cpuinfo lists
// avx512_fp16. HL_JIT_TARGET, when set, is used as given.
const Halide::Target& HostHalideTarget();

}  // namespace opal::tune
