// Reductions (Reduce*), ArgMax/ArgMin, Softmax/LogSoftmax/Hardmax and the normalisations
// (LayerNormalization, InstanceNormalization, LpNormalization, MeanVarianceNormalization).
#pragma once

#include <string>
#include <vector>

#include "lower/lower_util.h"

namespace opal::lower {

const std::vector<std::string>& ReduceOps();
// Precondition: b.node().op_type is in ReduceOps().
Result<KernelDef> LowerReduce(KernelBuilder& b);

}  // namespace opal::lower
