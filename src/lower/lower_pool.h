// Pooling: MaxPool, AveragePool, LpPool (pads, strides, dilations, ceil_mode, auto_pad,
// count_include_pad) and the global forms.
#pragma once

#include <string>
#include <vector>

#include "lower/lower_util.h"

namespace opal::lower {

const std::vector<std::string>& PoolOps();
// Precondition: b.node().op_type is in PoolOps().
Result<KernelDef> LowerPool(KernelBuilder& b);

}  // namespace opal::lower
