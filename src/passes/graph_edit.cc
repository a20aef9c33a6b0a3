#include "passes/graph_edit.h"

#include <algorithm>

namespace opal::passes {

bool IsOnnxOp(const Node& n, const char* op_type) {
  return n.op_type == op_type && (n.domain.empty() || n.domain == "ai.onnx");
}

bool IsUnused(const Graph& g, ValueId id) {
  return !g.value(id).is_graph_output && g.Consumers(id).empty();
}

void ReplaceUses(Graph& g, ValueId from, ValueId to) {
  for (size_t i = 0; i < g.num_nodes(); ++i) {
    for (ValueId& in : g.mutable_node(static_cast<NodeId>(i)).inputs) {
      if (in == from) in = to;
    }
  }
}

std::string UniqueValueName(const Graph& g, const std::string& base) {
  if (!g.FindValue(base)) return base;
  for (int k = 1;; ++k) {
    std::string name = base + "_" + std::to_string(k);
    if (!g.FindValue(name)) return name;
  }
}

int CompactValues(Graph& g) {
  const size_t n = g.num_values();
  std::vector<char> keep(n, 0);
  auto mark = [&](ValueId v) {
    if (v != kNoValue) keep[static_cast<size_t>(v)] = 1;
  };
  for (const Node& node : g.nodes()) {
    for (ValueId v : node.inputs) mark(v);
    for (ValueId v : node.outputs) mark(v);
  }
  for (ValueId v : g.inputs()) mark(v);
  for (ValueId v : g.outputs()) mark(v);

  Graph out;
  out.name = g.name;
  out.opset = g.opset;
  std::vector<ValueId> remap(n, kNoValue);
  int dropped = 0;
  for (size_t v = 0; v < n; ++v) {
    if (!keep[v]) {
      ++dropped;
      continue;
    }
    Value value = g.value(static_cast<ValueId>(v));
    value.producer = -1;  // AddNode sets it again
    remap[v] = out.AddValue(std::move(value));
  }
  auto map_ids = [&](std::vector<ValueId>& ids) {
    for (ValueId& id : ids) {
      if (id != kNoValue) id = remap[static_cast<size_t>(id)];
    }
  };
  for (const Node& node : g.nodes()) {
    Node copy = node;
    map_ids(copy.inputs);
    map_ids(copy.outputs);
    out.AddNode(std::move(copy));
  }
  out.inputs() = g.inputs();
  map_ids(out.inputs());
  out.outputs() = g.outputs();
  map_ids(out.outputs());
  g = std::move(out);
  return dropped;
}

}  // namespace opal::passes
