// Element-wise lowerings with ONNX multidirectional broadcasting: arithmetic, math functions,
// activations, comparisons and logic, variadic Max/Min/Sum/Mean, Where, Clip, Cast/CastLike,
// Expand, BatchNormalization (inference form), and copies for Identity/Dropout that are not
// aliases (a Dropout mask output is all true in inference).
#pragma once

#include <string>
#include <vector>

#include "lower/lower_util.h"

namespace opal::lower {

const std::vector<std::string>& ElementwiseOps();
// Precondition: b.node().op_type is in ElementwiseOps().
Result<KernelDef> LowerElementwise(KernelBuilder& b);

}  // namespace opal::lower
