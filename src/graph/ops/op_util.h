// Helpers shared by the op family files: broadcasting, axis handling, index arithmetic.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "graph/op_registry.h"

namespace opal::graph {

// Numpy-style multidirectional broadcast of two shapes; kInvalidModel if incompatible.
Result<Shape> BroadcastShapes(const Shape& a, const Shape& b);

// Maps axis in [-rank, rank) to [0, rank); kInvalidModel otherwise.
Result<int64_t> NormalizeAxis(int64_t axis, int64_t rank, const char* what = "axis");

// Row-major strides of a shape (elements).
std::vector<int64_t> Strides(const Shape& shape);

// For each element of `out_shape` (row-major), the offset of the element it reads in a tensor of
// `in_shape` broadcast to `out_shape` (in_shape right-aligned, size-1 dims repeat).
std::vector<int64_t> BroadcastOffsets(const Shape& in_shape, const Shape& out_shape);

// Attribute `name` as an axis list, or the int64 values of constant input `input` (opset-dependent
// ops moved axes from attributes to inputs). `present` says whether either was given.
// Returns kUnsupported if the input is given but not constant.
Status AxesFromAttrOrInput(const InferContext& ctx, const char* name, size_t input,
                           std::vector<int64_t>* axes, bool* present);
Status AxesFromAttrOrInput(const EvalContext& ctx, const char* name, size_t input,
                           std::vector<int64_t>* axes, bool* present);

// The int64 values of input `input` (named `what` in messages). kUnsupported naming the tensor
// when it is computed at run time: opal needs it constant to know the output shape.
Result<std::vector<int64_t>> ConstantInts(const InferContext& ctx, size_t input, const char* what);

// Copies element `si` of `src` to element `di` of `dst` (same dtype, any fixed-size type).
inline void CopyElement(const Tensor& src, int64_t si, Tensor& dst, int64_t di) {
  const size_t es = DTypeSize(src.dtype());
  std::memcpy(dst.raw() + di * static_cast<int64_t>(es), src.raw() + si * static_cast<int64_t>(es), es);
}

// Advances a row-major multi-index over `shape` by one element (wraps to zeros at the end).
inline void NextIndex(std::vector<int64_t>& idx, const Shape& shape) {
  for (size_t d = shape.size(); d-- > 0;) {
    if (++idx[d] < shape[d]) return;
    idx[d] = 0;
  }
}

// "[1, 2, 3]" for messages.
std::string IntsToString(const std::vector<int64_t>& v);

}  // namespace opal::graph
