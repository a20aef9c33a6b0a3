// Sliding-window geometry shared by Conv and the pooling operators: kernel, strides, pads,
// dilations, auto_pad and ceil_mode resolved to explicit numbers for the spatial dims.
#pragma once

#include <vector>

#include "graph/op_registry.h"

namespace opal::graph {

struct WindowGeometry {
  std::vector<int64_t> kernel;     // per spatial dim
  std::vector<int64_t> strides;
  std::vector<int64_t> dilations;
  std::vector<int64_t> pads;       // begin values for every spatial dim, then end values (ONNX order)
  std::vector<int64_t> out;        // output spatial size
};

// Resolves the window attributes of `attrs` for an input of spatial size `in` and a kernel of
// spatial size `kernel` (from the weight shape, or the kernel_shape attribute for pooling).
// Handles auto_pad NOTSET/VALID/SAME_UPPER/SAME_LOWER and ceil_mode. kInvalidModel on bad values
// (wrong lengths, non-positive strides, a window larger than the padded input).
Result<WindowGeometry> ResolveWindow(const Attributes& attrs, const std::vector<int64_t>& in,
                                     const std::vector<int64_t>& kernel, bool allow_ceil_mode);

}  // namespace opal::graph
