// Shape and type inference over a whole graph, with constant folding.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "opal/graph.h"

namespace opal::graph {

struct InferOptions {
  // Fold a node whose inputs are all constant when none of its outputs has more elements.
  int64_t fold_limit_elements = 1 << 20;
  // Any tensor with more elements than this is a model error (absurd sizes).
  int64_t max_elements = int64_t{1} << 36;
};

// A dtype and (maybe) shape known from elsewhere (ONNX's own inference), used only for the
// outputs of operators opal has no schema for.
struct ValueHint {
  DType dtype = DType::kUndefined;
  std::optional<Shape> shape;
};

// Asked for the outputs of a node opal has no schema for, once its inputs are known: one hint per
// output (an empty result or missing shape leaves the output unknown). Must not throw or crash.
using UnsupportedNodeInference = std::function<std::vector<ValueHint>(const Graph& g, NodeId node)>;

// Visits nodes in order (precondition: topologically sorted; graph inputs and initializers have
// known shapes): checks each node against its schema, infers its outputs, folds constants.
// Outputs of unsupported nodes come from `fallback` (may be empty), else stay unknown with a
// reason, as does everything computed from them. Returns the first model error, node named.
Status InferShapes(Graph& g, const InferOptions& options, const UnsupportedNodeInference& fallback = {});

}  // namespace opal::graph
