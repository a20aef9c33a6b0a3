// RemoveIdentities: Identity and inference-mode Dropout forward their input unchanged.
#include "passes/graph_edit.h"
#include "passes/passes.h"

namespace opal::passes {
namespace {

// True when node `n` passes input 0 through to output 0 and has no other live output.
bool IsPassThrough(const Graph& g, const Node& n) {
  if (n.inputs.empty() || n.inputs[0] == kNoValue || n.outputs.empty() ||
      n.outputs[0] == kNoValue) {
    return false;
  }
  if (IsOnnxOp(n, "Identity")) return n.outputs.size() == 1;
  if (!IsOnnxOp(n, "Dropout")) return false;
  // Opset 12+: training_mode (input 2) must be absent or a constant false.
  if (n.inputs.size() > 2 && n.inputs[2] != kNoValue) {
    const Value& mode = g.value(n.inputs[2]);
    if (!mode.constant || mode.constant->size() != 1 || mode.constant->GetInt(0) != 0) return false;
  }
  // Opset < 7 had is_test; a training-mode Dropout is not an identity.
  if (n.attrs.Has("is_test") && n.attrs.GetInt("is_test", 1) == 0) return false;
  for (size_t i = 1; i < n.outputs.size(); ++i) {
    if (n.outputs[i] != kNoValue && !IsUnused(g, n.outputs[i])) return false;  // mask is read
  }
  return true;
}

}  // namespace

Result<PassStats> RemoveIdentities(Graph& g) {
  PassStats stats{"remove-identities", 0};
  std::vector<NodeId> drop;
  for (size_t i = 0; i < g.num_nodes(); ++i) {
    const auto id = static_cast<NodeId>(i);
    const Node& n = g.node(id);
    if (!IsPassThrough(g, n)) continue;
    const ValueId x = n.inputs[0], y = n.outputs[0];
    if (g.value(y).is_graph_output) {
      // The output's name must survive: the producer of x writes y instead, when x is an
      // ordinary computed value.
      const Value& xv = g.value(x);
      if (xv.producer < 0 || xv.constant || xv.is_graph_input || xv.is_graph_output) continue;
      Node& producer = g.mutable_node(xv.producer);
      for (ValueId& o : producer.outputs) {
        if (o == x) o = y;
      }
      g.mutable_value(y).producer = xv.producer;
      g.mutable_value(x).producer = -1;
      g.mutable_node(id).outputs[0] = kNoValue;  // the node is dropped below
      ReplaceUses(g, x, y);
    } else {
      ReplaceUses(g, y, x);
    }
    g.mutable_node(id).inputs.clear();
    drop.push_back(id);
    ++stats.changed;
  }
  g.RemoveNodes(drop);
  OPAL_RETURN_IF_ERROR(g.TopologicalSort());
  return stats;
}

}  // namespace opal::passes
