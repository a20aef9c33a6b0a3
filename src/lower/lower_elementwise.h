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
// Precondition: b.node().op_type is in ElementwiseOps(). A pointwise node (elementwise_expr.h)
// becomes a group of one (LowerPointwiseGroup); the others (BatchNormalization, the quantisation
// ops, a Dropout with its mask) get their own kernel.
Result<KernelDef> LowerElementwise(KernelBuilder& b);

// One streaming kernel for a group whose anchor is pointwise (kernel_groups.h): every member
// evaluated per element of the group's output, operands read with broadcasting, scalar constants
// as immediates. The output and the operands are seen through coalesced dims (adjacent dims
// merged where every operand varies along both or neither), the innermost vectorised and the rest
// in parallel tasks of at least 16 Ki elements.
Result<KernelDef> LowerPointwiseGroup(const Graph& g, const KernelGroup& grp, const LowerOptions& o);

}  // namespace opal::lower
