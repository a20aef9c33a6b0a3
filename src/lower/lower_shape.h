// Data movement: Transpose, Gather, GatherElements, GatherND, Concat, Split, Slice, Pad,
// Tile, DepthToSpace, SpaceToDepth, and copies of reshaping ops that are not aliases.
#pragma once

#include <string>
#include <vector>

#include "lower/lower_util.h"

namespace opal::lower {

const std::vector<std::string>& ShapeOps();
// Precondition: b.node().op_type is in ShapeOps().
Result<KernelDef> LowerShape(KernelBuilder& b);

}  // namespace opal::lower
