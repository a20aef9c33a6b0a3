// Small graph edits shared by the passes (internal to opal_passes).
#pragma once

#include <string>
#include <vector>

#include "opal/graph.h"

namespace opal::passes {

// True for a node of the default ONNX domain ("" or "ai.onnx") with this op_type.
bool IsOnnxOp(const Node& n, const char* op_type);

// True when `id` is read by no node and is not a graph output.
bool IsUnused(const Graph& g, ValueId id);

// Makes every node that reads `from` read `to` instead (all occurrences).
void ReplaceUses(Graph& g, ValueId from, ValueId to);

// `base` if no value has that name, else `base_1`, `base_2`, ...
std::string UniqueValueName(const Graph& g, const std::string& base);

// Rebuilds the graph keeping only values a node, graph input or graph output refers to; value
// ids are renumbered (node order, names and the input/output lists are kept) and the name index
// is rebuilt, so values renamed in place are found under their new names. Returns how many values
// were dropped.
int CompactValues(Graph& g);

}  // namespace opal::passes
