// Which nodes become one kernel: the graph-level fusion decision of the builder.
//
// A kernel group is an anchor node and the element-wise nodes fused after it. The kernel computes
// the anchor and applies the fused nodes to each output element while it is in registers, so no
// value inside the group is ever written to memory: only the group's output is. Anchors:
//  - a contraction the tuned template computes (Conv / Gemm / MatMul with a supported workload,
//    depthwise convs included): the fused nodes run in the template's output stage;
//  - a pointwise node (elementwise_expr.h) that no earlier group took: the whole chain is one
//    streaming pass over its output.
// Every other node that needs a kernel is a group of one.
//
// A pointwise node joins a group when its output has the group's shape (so the kernel's loops
// cover it), each data input is a value of the group or broadcasts into that shape, and, for a
// contraction anchor, the values are float32. The group is then cut to the longest prefix (in
// topological order) whose values are read outside the group through exactly one value, the
// group's output (or which is a graph output): SiLU (x * Sigmoid(x)), GELU's five nodes, a
// residual Add then Relu, a HardSwish written out, a per-channel affine then Relu all become one
// kernel. The kernel runs where its last member stood in the node order, so operands computed
// between the anchor and that point (the other branch of a residual Add) are ready.
#pragma once

#include <vector>

#include "opal/graph.h"

namespace opal::lower {

struct KernelGroup {
  NodeId anchor = -1;           // the node the kernel is built around (members[0])
  std::vector<NodeId> members;  // the anchor, then the fused nodes in topological order
  ValueId output = kNoValue;    // the one value of the group read outside it
  bool fused() const { return members.size() > 1; }
};

// True when `n` is a contraction whose kernel can apply fused element-wise nodes (see above).
bool TakesEpilogue(const Graph& g, const Node& n);

// True when node `n` needs no kernel: all its outputs are constants (folded at import) or it is
// an alias (lowering.h IsAliasNode).
bool NeedsNoKernel(const Graph& g, const Node& n);

// The kernel groups of a topologically sorted graph, in the order their kernels run (each at the
// position of its last member). Every node that needs a kernel is in exactly one group; nodes that
// need none are in none. With `fuse` false, every such node is a group of one (the unfused graph,
// for tests that compare the two).
std::vector<KernelGroup> PlanKernelGroups(const Graph& g, bool fuse = true);

}  // namespace opal::lower
