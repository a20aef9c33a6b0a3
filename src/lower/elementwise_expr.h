// The arithmetic of one element-wise node at one element: the Halide expression of its output from
// the expressions of its inputs at the same element. Shared by the stand-alone element-wise
// kernels and by every kernel that fuses element-wise nodes into its output stage (kernel_groups.h):
// one definition of each op's semantics, whatever kernel computes it.
#pragma once

#include <Halide.h>

#include <string>
#include <vector>

#include "opal/graph.h"
#include "opal/status.h"

namespace opal::lower {

// True when `n` is an element-wise op whose output at index i depends only on its inputs at
// index i (ONNX multidirectional broadcasting): arithmetic, math functions, activations,
// comparisons and logic, Where, Clip, Cast/CastLike, variadic Max/Min/Sum/Mean, and Identity,
// Dropout (inference, no mask output) and Expand as copies. Requires one output, known shapes
// and element types that have a Halide type. BatchNormalization and the quantisation ops are not
// (their operands broadcast along one axis, not ONNX-style).
bool IsPointwiseNode(const Graph& g, const Node& n);

// The inputs of pointwise node `n` that are read element by element (the others are attributes
// in disguise: Expand's shape, CastLike's type, Dropout's ratio): indices into n.inputs, present
// inputs only.
std::vector<size_t> PointwiseDataInputs(const Node& n);

// The value of pointwise node `n` (IsPointwiseNode) at one element. `in[i]` is input i's value at
// that element for the data inputs (PointwiseDataInputs; the others may be undefined), already broadcast (an undefined Expr for an omitted optional input). The result has
// the Halide type of the node's output dtype (bool: UInt(8) holding 0 or 1).
// kUnsupported for a combination the lowering does not cover (Erf of integers, a Clip bound that
// is not a scalar), naming the node.
Result<Halide::Expr> PointwiseExpr(const Graph& g, const Node& n, const std::vector<Halide::Expr>& in);

// The value of a constant graph value with a single element as an immediate of its Halide type,
// or an undefined Expr when `id` is not such a constant (then it is read from a buffer).
Halide::Expr ScalarConstant(const Graph& g, ValueId id);

}  // namespace opal::lower
