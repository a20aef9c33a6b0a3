// Evaluates a whole graph node by node with Halide JIT: the lowering's test oracle path (node
// tests, shared models) and a debugging aid. Not for production: every node is JIT-compiled on
// each call.
//
// Each value lives in its own 64-byte aligned buffer; alias nodes (IsAliasNode) share their
// input's storage; nodes whose outputs are all graph constants are skipped (constants come from
// Value::constant); the other nodes are lowered as the builder lowers them, one kernel per kernel
// group (kernel_groups.h; with `fuse` false, or with a `lowering` override, one per node), and
// realized into the group's output.
// OPAL_JIT_TRACE=1 prints each node before it runs (to find a kernel that crashes).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "lower/lowering.h"
#include "opal/tensor.h"

namespace opal::lower {

struct JitEvalStats {
  int kernels = 0;  // nodes lowered and run
  int aliases = 0;  // alias nodes
  int skipped = 0;  // nodes whose outputs are all constant
  int fused = 0;    // nodes computed inside another node's kernel (kernel_groups.h)
};

// A lowering to use instead of LowerNode (tests of one path); nullptr = LowerNode.
using NodeLowering =
    std::function<Result<KernelDef>(const Graph&, const Node&, const LowerOptions&)>;

// `inputs` are the values of g.inputs(), in order (dtype and shape must match).
// Errors: kUnsupported (from LowerNode, naming the node) when a node cannot be lowered;
// kInvalidArgument for inputs that do not match; kFailed when Halide fails to compile or run a
// kernel (the message names the node).
Result<std::vector<Tensor>> EvaluateGraphJit(const Graph& g, const std::vector<Tensor>& inputs,
                                             const LowerOptions& options,
                                             JitEvalStats* stats = nullptr,
                                             const NodeLowering& lowering = nullptr, bool fuse = true);

}  // namespace opal::lower
