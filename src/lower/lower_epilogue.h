// The element-wise epilogue of a kernel that computes a contraction (the tuned template, the
// depthwise convolution): the anchor node's own terms (Conv's bias, Gemm's alpha and beta*C), then
// the pointwise nodes fused after it (kernel_groups.h), applied to the reduction's value at one
// output element while it is in registers.
#pragma once

#include <functional>
#include <vector>

#include "lower/kernel_groups.h"
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

// Applies the epilogue of node `n` to `acc`: n's own terms, then, when `group` is non-null and
// `n` is its anchor, every other member of the group in order; returns the value of the group's
// output (of n's output without a group). Operands the epilogue reads from memory are appended to
// def->inputs / input_values / input_views (after whatever the kernel already put there); scalar
// constants become immediates. kInternal for an operand that does not broadcast to the output
// (the planner should not have fused it), kUnsupported from a member's arithmetic.
Result<Halide::Expr> ApplyEpilogue(const Graph& g, const Node& n, Halide::Expr acc, const EpilogueSite& site,
                                   const KernelGroup* group, KernelDef* def);

}  // namespace opal::lower
