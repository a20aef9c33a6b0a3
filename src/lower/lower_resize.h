// Resize (opsets 10-19) and Upsample (7-9): nearest, N-linear and cubic interpolation over any
// axes, every coordinate transformation mode and nearest mode of the ONNX spec. Scales, sizes and
// roi must be graph constants. The node is resolved by ResolveResize (opal/resize_geometry.h);
// an axis that is the identity is read as it is, a nearest axis whose indices are exactly `x / k`
// or `x * k + c` (ResizeAxis) through that expression, any other through a table of indices and
// weights the kernel computes once per call with the same double arithmetic as ResizeAxis.
#pragma once

#include <string>
#include <vector>

#include "lower/lower_util.h"
#include "opal/resize_geometry.h"

namespace opal::lower {

const std::vector<std::string>& ResizeOps();
// Precondition: b.node().op_type is in ResizeOps().
Result<KernelDef> LowerResize(KernelBuilder& b);

}  // namespace opal::lower
