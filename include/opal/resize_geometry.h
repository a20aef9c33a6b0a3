// What a Resize (opsets 10-19) or Upsample (7-9) node computes, resolved to numbers: the
// interpolation settings, the scale of every axis, the output shape, and for each output index
// of an axis the input indices it reads with their weights. Shared by shape inference, the
// reference evaluation (constant folding) and the Halide lowering, so the three agree.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "opal/graph.h"
#include "opal/status.h"

namespace opal {

// The settings that shape every axis's taps.
struct ResizeMode {
  std::string mode = "nearest";                // nearest | linear | cubic
  std::string transform = "half_pixel";        // coordinate_transformation_mode
  std::string nearest = "round_prefer_floor";  // nearest_mode; "simple" (Upsample, Resize-10): floor up, ceil down
  double cubic_a = -0.75;
  bool exclude_outside = false;
  double extrapolation = 0;  // tf_crop_and_resize's value outside the input
};

// A node resolved: per axis its scale (output / input length as the spec uses it) and roi
// (tf_crop_and_resize; 0 and 1 otherwise), and the output shape.
struct ResizeGeometry {
  ResizeMode mode;
  std::vector<double> scale, roi_start, roi_end;
  Shape out;
};

// Where a node of `op_type` at `opset` takes its roi, scales and sizes from (-1: not an input;
// Upsample-7 has its scales as an attribute).
struct ResizeInputs {
  int roi = -1, scales = -1, sizes = -1;
};
ResizeInputs ResizeInputsOf(const std::string& op_type, int opset);

// Resolves a node from its attributes, its input shape and the values of its roi, scales and
// sizes inputs (nullptr where absent; an empty tensor counts as absent). kInvalidModel for
// inconsistent values (both or neither of scales and sizes, wrong counts, non-positive scales),
// kUnsupported for what the spec allows and opal does not do (antialias, unknown modes).
Result<ResizeGeometry> ResolveResize(const std::string& op_type, int opset, const Attributes& attrs,
                                     const Shape& in, const Tensor* roi, const Tensor* scales, const Tensor* sizes);

// ResolveResize for node `n` of a graph at `opset`: its roi, scales and sizes read through
// `constant(i)` (input i's value, nullptr when it is not a constant). kUnsupported "... must be a
// constant of the graph" for such an input that is present but not constant.
Result<ResizeGeometry> ResolveResizeNode(const Node& n, int opset, const Shape& in,
                                         const std::function<const Tensor*(size_t)>& constant);

// How one output axis reads its input axis: for every output index i, `taps` input indices
// (idx[i * taps + t], clamped into the input) with their weights (weight[...]), and whether the
// point lies inside the input (tf_crop_and_resize; 1 otherwise). Computed in double precision.
struct ResizeAxisTaps {
  int taps = 1;
  std::vector<int32_t> idx;
  std::vector<double> weight;
  std::vector<uint8_t> inside;
  bool identity = false;  // output index i reads input index i alone, with weight 1
};

// The taps of axis `axis` of a resolved node for an input axis of length `in`.
ResizeAxisTaps ResizeAxis(const ResizeGeometry& g, size_t axis, int64_t in);

}  // namespace opal
