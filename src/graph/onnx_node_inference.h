// ONNX's own shape inference for one node opal has no schema for, run in a child process.
//
// ONNX 1.12's inference functions can crash on inconsistent inputs (seen: a rank-3 input to a 2-D
// Conv segfaults in convPoolShapeInference). So the node is put alone in a small model whose
// inputs carry the types, shapes and (small) constant values opal already inferred, and that
// model is inferred in a forked child with a time limit. A crash, a hang or an exception gives
// no hints, never a crash of opal.
#pragma once

#include <onnx/onnx_pb.h>

#include <vector>

#include "graph/shape_inference.h"

namespace opal::graph {

// One hint per output of `node` (the NodeProto it was imported from), or an empty vector.
std::vector<ValueHint> InferNodeWithOnnx(const onnx::NodeProto& node, const Graph& g, NodeId id, int opset);

}  // namespace opal::graph
