// Lowering of graph nodes to Halide kernels: the algorithm and a schedule for one node, ready to
// be compiled ahead of time (builder) or JIT-compiled (tests). Internal to opal_lower; this header
// includes Halide.h, so only the lowering sources and the compiler driver include it.
//
// Conventions shared by every lowering:
//  - One ImageParam per runtime input and one Func per node output. A tensor of ONNX shape
//    [d0, d1, ..., d(r-1)] (row-major) is a Halide buffer of r dimensions with dim 0 = d(r-1)
//    (innermost, stride 1), dim r-1 = d0, dense strides, min 0. Rank-0 tensors are 0-dim buffers.
//  - Every bound and stride of every param and output is constrained to the static shape
//    (ConstrainDense), so the code specialises on them and a wrong buffer is an error, not UB.
//  - Element types: float32 -> Float(32), float64 -> Float(64), int32/int64/int8/uint8/... ->
//    the same Halide int type, bool -> UInt(8) holding 0 or 1.
//  - Inputs whose value is a graph constant (Value::constant) are still runtime inputs (the
//    weights blob feeds them), except where the lowering needs the numbers at build time
//    (a Reshape's shape, Slice's starts, a Clip's bounds): those are read from the graph and do
//    not become params. KernelDef::input_values says which values are params, in order.
//  - Outputs are scheduled (parallel over the outer dimension when large, vectorised along dim 0
//    at the native width when wide enough); intermediate Funcs are inlined or computed at a
//    stated level. Nothing is left to Halide's default (serial, unvectorised) schedule for
//    outputs of more than a few thousand elements.
#pragma once

#include <Halide.h>

#include <string>
#include <vector>

#include "lower/kernel_groups.h"
#include "opal/graph.h"
#include "opal/status.h"
#include "opal/target.h"
#include "opal/tuning_space.h"

namespace opal::lower {

// A tensor as a kernel argument sees it: Halide dims innermost first, each (extent, stride in
// elements), relative to the start of the value's storage.
struct ArgView {
  struct Dim {
    int64_t extent = 0, stride = 0;
  };
  std::vector<Dim> dims;
};

// The dense view of an ONNX shape (the convention above).
ArgView DenseView(const Shape& shape);

// One kernel: what the compiler driver turns into one AOT function
//   int NAME_argv(void** args)   args = [inputs..., outputs...] as halide_buffer_t*.
struct KernelDef {
  std::vector<Halide::ImageParam> inputs;  // argument order
  std::vector<ValueId> input_values;       // the graph value each input reads
  std::vector<ArgView> input_views;        // how each input's storage is viewed
  std::vector<Halide::Func> outputs;       // one per output value, scheduled
  std::vector<ValueId> output_values;
  std::vector<ArgView> output_views;
  // Where the kernel came from, for the build report: "contraction", "elementwise", ...
  std::string kind;
};

struct LowerOptions {
  // For tunable nodes (a Conv/Gemm/MatMul that has a Workload): the schedule to use; nullptr =
  // the template's default schedule for the host.
  const Config* config = nullptr;
  // Native fp32 vector width of the target, in lanes (8 for AVX2, 16 for AVX-512).
  int vector_lanes = 8;
  // The target the kernels are for (the default schedule of tunable nodes depends on it);
  // nullptr = the host.
  const Target* target = nullptr;
  // For a conv whose config has chan 1: the constant value holding its weights as
  // tune::PackChanWeights lays them out (the builder adds it); kNoValue: the kernel reads the
  // node's weights in the ONNX layout.
  ValueId packed_weights = kNoValue;
  // The kernel group the node anchors (kernel_groups.h): its other members are computed in the
  // kernel's output stage and the kernel writes the group's output instead of the node's. nullptr
  // (or a group of one): the node alone.
  const KernelGroup* group = nullptr;
};

// Constrains p (or an output buffer) to the given view (bounds, strides, 64-byte host alignment
// for params).
void ConstrainView(Halide::OutputImageParam p, const ArgView& v);

// Halide element type of a dtype; kUnsupported for strings and 16-bit floats.
Result<Halide::Type> HalideTypeOf(DType t);

// True when the node needs no kernel: its single output is its first input's storage viewed
// with another shape (Identity, Reshape, Flatten, Squeeze, Unsqueeze, Dropout in inference, a
// Transpose that moves only dims of extent 1).
bool IsAliasNode(const Graph& g, const Node& n);

// True when a Dropout node passes its input through: inference (training_mode absent or a
// constant false), or a constant ratio of 0 in training mode (torchvision's Swin calls dropout
// with p = 0 and no training flag, exported as training_mode = true).
bool DropoutPassesThrough(const Graph& g, const Node& n);

// Lowers one node, or the kernel group it anchors (o.group). Tunable nodes with a workload go to
// the contraction template, with the group's fused nodes in its output stage; a pointwise anchor
// becomes one streaming kernel of its whole group (lower_elementwise.h); every other supported op
// goes to its own lowering.
// kUnsupported naming the op and the attribute or dtype it cannot lower.
// Precondition: all input and output shapes of `n` are known.
Result<KernelDef> LowerNode(const Graph& g, const Node& n, const LowerOptions& o);

// The contraction template with the node's epilogue (lower_contraction.cc). kUnsupported when
// the node has no workload (the caller then uses the generic lowering of the op).
Result<KernelDef> LowerContractionNode(const Graph& g, const Node& n, const LowerOptions& o);

}  // namespace opal::lower
