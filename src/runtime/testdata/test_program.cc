// A hand-written program.cc, as `opal build` generates one, for the runtime's tests:
//   inputs  x: float32 [3,5]   n: int64 [2,3]
//   weights w: float32 [3,5] = 0.5 * i - 3      k: int64 [2,3] = 1e12 * (i + 1) - 7
//   step 0  t = axpb_f32(x, w) = 2x + w       (node "Mul_Add_t")
//   step 1  y = axpb_f32(t, x) = 2t + x       (node "Mul_Add_y")
//   step 2  m = axpb_i64(n, k) = 3n + k       (node "Mul_Add_m", n and k seen as 1-D of 6)
//   outputs y (= 5x + 2w), m
// weights.bin (112 bytes: w, 4 zero bytes, k) has FNV-1a 64 0xf0f3ad77a36f35b7, computed
// independently with Python:
//   h = 0xcbf29ce484222325; for c in blob: h = ((h ^ c) * 0x100000001b3) % 2**64
// With OPAL_TEST_BAD_EXTENT, step 2 views n with extent 5 while m has 6: within n's storage (the
// load-time check passes) but outside what the kernel must read, so Halide reports an error.
#include "opal/runtime.h"
#include "runtime/program.h"

extern "C" int axpb_f32_argv(void** args);
extern "C" int axpb_i64_argv(void** args);

namespace {

using opal_rt::kArena;
using opal_rt::kWeights;

const int64_t kDims35[] = {3, 5};
const int64_t kDims23[] = {2, 3};

const opal_rt::TensorDesc kTensors[] = {
    {"x", 1, 2, kDims35, kArena, 0, 60},   {"n", 7, 2, kDims23, kArena, 64, 48},
    {"w", 1, 2, kDims35, kWeights, 0, 60}, {"k", 7, 2, kDims23, kWeights, 64, 48},
    {"t", 1, 2, kDims35, kArena, 128, 60}, {"y", 1, 2, kDims35, kArena, 192, 60},
    {"m", 7, 2, kDims23, kArena, 256, 48},
};

const int64_t kExt2[] = {5, 3}, kStr2[] = {1, 5};
#ifdef OPAL_TEST_BAD_EXTENT
const int64_t kExtN[] = {5};
#else
const int64_t kExtN[] = {6};
#endif
const int64_t kExt1[] = {6}, kStr1[] = {1};

const opal_rt::ArgDesc kArgs[] = {
    {0, 2, kExt2, kStr2}, {2, 2, kExt2, kStr2}, {4, 2, kExt2, kStr2}, {5, 2, kExt2, kStr2},
    {1, 1, kExtN, kStr1}, {3, 1, kExt1, kStr1}, {6, 1, kExt1, kStr1},
};

const int32_t kStep0[] = {0, 1, 2}, kStep1[] = {2, 0, 3}, kStep2[] = {4, 5, 6};
const opal_rt::StepDesc kSteps[] = {
    {0, 3, kStep0, "Mul_Add_t"}, {0, 3, kStep1, "Mul_Add_y"}, {1, 3, kStep2, "Mul_Add_m"}};

const opal_rt::KernelFn kKernels[] = {axpb_f32_argv, axpb_i64_argv};
const int32_t kInputs[] = {0, 1}, kOutputs[] = {5, 6};

// clang-format off
const opal_rt::ProgramDesc kProgram = {
    OPAL_RUNTIME_ABI, "runtime_test | host | opal test",
    /*num_tensors=*/7, kTensors, /*num_args=*/7, kArgs, /*num_steps=*/3, kSteps,
    /*num_kernels=*/2, kKernels, /*num_inputs=*/2, kInputs, /*num_outputs=*/2, kOutputs,
    /*arena_bytes=*/320, /*weights_bytes=*/112, /*weights_hash=*/0xf0f3ad77a36f35b7ull,
};
// clang-format on

}  // namespace

extern "C" const opal_rt::ProgramDesc* opal_program(void) { return &kProgram; }
