// EliminateDeadCode: drops nodes whose results are already known (constant) or never read.
#include <vector>

#include "passes/graph_edit.h"
#include "passes/passes.h"

namespace opal::passes {

Result<PassStats> EliminateDeadCode(Graph& g) {
  PassStats stats{"eliminate-dead-code", 0};
  // How many live nodes read each value; graph outputs count as one more reader.
  std::vector<int> readers(g.num_values(), 0);
  for (const Node& n : g.nodes()) {
    for (ValueId in : n.inputs) {
      if (in != kNoValue) ++readers[static_cast<size_t>(in)];
    }
  }
  for (ValueId o : g.outputs()) ++readers[static_cast<size_t>(o)];

  // Reverse topological order: a node's readers are decided before the node itself.
  std::vector<NodeId> drop;
  for (size_t i = g.num_nodes(); i-- > 0;) {
    const Node& n = g.node(static_cast<NodeId>(i));
    bool all_constant = true, all_unused = true, any_output = false;
    for (ValueId o : n.outputs) {
      if (o == kNoValue) continue;
      any_output = true;
      if (!g.value(o).constant) all_constant = false;
      if (readers[static_cast<size_t>(o)] > 0) all_unused = false;
    }
    if (!(any_output && all_constant) && !all_unused) continue;
    drop.push_back(static_cast<NodeId>(i));
    for (ValueId in : n.inputs) {
      if (in != kNoValue) --readers[static_cast<size_t>(in)];
    }
  }
  g.RemoveNodes(drop);
  // Constant outputs of dropped nodes stay as constants (producer -1); unreferenced values go.
  CompactValues(g);
  stats.changed = static_cast<int>(drop.size());
  return stats;
}

}  // namespace opal::passes
