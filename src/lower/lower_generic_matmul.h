// Untuned fallbacks of the tunable ops: MatMul (any ranks, broadcast batch dims), Gemm and Conv
// (1-D/2-D/3-D, groups, dilations, strides, pads, auto_pad, bias): naive RDom sums, scheduled
// with an accumulator per output row (vectorised along dim 0, parallel over the outer dims).
#pragma once

#include <string>
#include <vector>

#include "lower/lower_util.h"

namespace opal::lower {

const std::vector<std::string>& GenericContractionOps();
// Precondition: b.node().op_type is in GenericContractionOps().
Result<KernelDef> LowerGenericContraction(KernelBuilder& b);
// The same for a node, bypassing the tuned contraction (tests; LowerNode falls back to it).
Result<KernelDef> LowerGenericContractionNode(const Graph& g, const Node& n, const LowerOptions& o);

}  // namespace opal::lower
