// Graph passes the builder runs before lowering (docs/build.md). Each pass takes an imported,
// shape-inferred graph, edits it in place, keeps it topologically sorted and every value's
// shape/dtype valid, and reports what it changed. Each pass is tested on its own (passes_test.cc).
#pragma once

#include <string>
#include <vector>

#include "opal/graph.h"
#include "opal/status.h"

namespace opal::passes {

struct PassStats {
  std::string pass;
  int changed = 0;  // nodes removed, folded or fused
};

// Identity and Dropout (inference: output 0 = input 0; a mask output must be unused) are removed;
// their consumers read the input directly. A graph output produced by one keeps its name (the
// producer's output value is renamed when it is not itself a graph input or constant): the input's
// producer writes the output value instead, and the input's readers read it; otherwise the node
// stays.
Result<PassStats> RemoveIdentities(Graph& g);

// BatchNormalization (inference form) whose input is produced by a Conv with float32 constant
// weights and no other consumer is folded into that Conv's weights and bias (a bias input is
// added when there was none). The four BN parameters must be float32 constants; the folded
// weights and bias are new constant values ("<W>_bnfold", "<W>_bnfold_bias"; W itself is left
// as it is for any other reader) and the Conv writes the BN's output value.
Result<PassStats> FoldBatchNorm(Graph& g);

// Drops nodes whose outputs are all constant (folded at import) or all unused (not consumed and
// not graph outputs), and values nothing refers to any more. Value ids are renumbered (names,
// node order and the graph's input/output lists are kept); graph inputs stay even when unused,
// and a constant graph output stays as a constant value with no producer.
Result<PassStats> EliminateDeadCode(Graph& g);

// Fuses element-wise epilogues into the producing Conv / Gemm / MatMul (the contraction), so the
// builder computes them on the output tile while it is in registers.
//
// A fused node keeps its op_type and domain and gains the string-list attribute "opal_epilogue",
// steps applied in order to the contraction's result y (after Conv's bias, Gemm's alpha/beta*C):
//   "add:I"        y = y + input[I]   input[I] is appended to the node's inputs; it broadcasts
//                                     (ONNX multidirectional) to the output shape and its shape
//                                     is not larger than the output's in any dim
//   "mul:I"        y = y * input[I]   same rules (e.g. a scale after MatMul)
//   "relu"         y = max(y, 0)
//   "clip:LO:HI"   y = min(max(y, LO), HI)  LO/HI printed with %.9g, "-inf"/"inf" when absent
// Operands are appended after the op's full ONNX input list, an omitted optional input padded
// with kNoValue: Conv [X, W, B|kNoValue, ...] and Gemm [A, B, C|kNoValue, ...] take I >= 3, MatMul
// [A, B, ...] I >= 2, so input 2 of a Conv is always its bias. Running the pass again appends to
// an existing "opal_epilogue".
// The node's output value becomes the last fused op's output (same name, so graph outputs keep
// their names). A step is fused only when the value between them has one consumer, is not a
// graph output, and the element type is float32; an add/mul operand must also be available
// before the contraction runs (a constant, a graph input, or produced by an earlier node), so a
// residual Add of two contraction outputs goes to the one later in topological order.
Result<PassStats> FuseEpilogues(Graph& g);

// All of the above in the builder's order: RemoveIdentities, FoldBatchNorm, FuseEpilogues,
// EliminateDeadCode.
Result<std::vector<PassStats>> RunBuildPasses(Graph& g);

}  // namespace opal::passes
