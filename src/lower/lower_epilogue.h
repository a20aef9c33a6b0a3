// The element-wise epilogue of a fused Conv / Gemm / MatMul node (passes/passes.h): Conv's bias,
// Gemm's alpha and beta*C, then the "opal_epilogue" steps (add:I, mul:I, relu, clip:LO:HI),
// applied to the reduction's value at one output element. Used by every kernel that computes such
// a node (the tuned contraction template, the depthwise convolution).
#pragma once

#include <functional>
#include <vector>

#include "lower/lowering.h"

namespace opal::lower {

struct EpilogueSite {
  // The output element's coordinate along ONNX axis `axis` of the node's output.
  std::function<Halide::Expr(size_t axis)> coord;
  // How the kernel addresses its output: a same-shaped operand is read through this view with
  // these coordinates (no index arithmetic).
  ArgView out_view;
  std::vector<Halide::Expr> out_coords;
};

// Applies the epilogue of node `n` to `acc`. The params it reads are appended to def->inputs /
// input_values / input_views (after whatever the kernel already put there). kInternal for an
// epilogue the passes should not have produced (bad operand shape or dtype, unknown step).
Result<Halide::Expr> ApplyEpilogue(const Graph& g, const Node& n, Halide::Expr acc, const EpilogueSite& site,
                                   KernelDef* def);

}  // namespace opal::lower
