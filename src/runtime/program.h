// The program of a built model: plain constant tables that the builder generates as C++
// (DIR/src/program.cc, defining opal_program()) and the runtime's executor interprets. No
// pointers into anything but these tables and string literals, so the generated file is data only.
//
// Storage: every tensor lives either in the arena (one 64-byte-aligned block per model, offsets
// chosen by the builder's memory plan, tensors with disjoint lifetimes share bytes) or in the
// weights blob (DIR/weights.bin, offsets 64-byte aligned). Graph inputs are arena tensors that
// opal_model_run fills from the caller's buffers; graph outputs are copied out after the last step.
#pragma once

#include <cstdint>

namespace opal_rt {

enum Storage : int32_t { kArena = 0, kWeights = 1 };

struct TensorDesc {
  const char* name;
  int32_t dtype;  // ONNX TensorProto.DataType
  int32_t rank;
  const int64_t* dims;  // outermost first
  int32_t storage;      // Storage
  int64_t offset;       // bytes from the start of the arena or of the weights blob
  int64_t bytes;
};

// A kernel argument: a tensor's storage seen through Halide dimensions (innermost first).
struct ArgDesc {
  int32_t tensor;
  int32_t rank;
  const int64_t* extents;
  const int64_t* strides;  // in elements
};

// One kernel call. args: indices into ProgramDesc::args, the kernel's inputs then its outputs,
// the order of its AOT function's argument list.
struct StepDesc {
  int32_t kernel;
  int32_t num_args;
  const int32_t* args;
  const char* node;  // graph node name(s), for error messages and profiles
};

using KernelFn = int (*)(void** args);  // Halide's NAME_argv entry point

struct ProgramDesc {
  int32_t abi;  // OPAL_RUNTIME_ABI
  const char* description;
  int32_t num_tensors;
  const TensorDesc* tensors;
  int32_t num_args;
  const ArgDesc* args;
  int32_t num_steps;
  const StepDesc* steps;
  int32_t num_kernels;
  const KernelFn* kernels;
  int32_t num_inputs;
  const int32_t* inputs;  // tensor indices
  int32_t num_outputs;
  const int32_t* outputs;
  int64_t arena_bytes;
  int64_t weights_bytes;
  // FNV-1a 64 of weights.bin, checked at load (a library and a weights file from different
  // builds must not be mixed).
  uint64_t weights_hash;
};

}  // namespace opal_rt

// Defined by the generated program.cc of each built model.
extern "C" const opal_rt::ProgramDesc* opal_program(void);
