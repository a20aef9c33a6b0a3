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

// Every inference BatchNormalization FoldBatchNorm left (after a Concat, a pooling, an input)
// with float32 constant parameters becomes Mul(x, s) then Add(., t), s = scale / sqrt(var + eps)
// and t = B - mean * s constants of shape [C, 1, ...]: plain pointwise nodes, which the builder
// fuses with their neighbours into one kernel (lower/kernel_groups.h) instead of a BN pass of its
// own. The BN node becomes the Mul (its name kept), the Add is named "<bn>_shift" and writes the
// BN's output value.
Result<PassStats> BatchNormAsAffine(Graph& g);

// The layer normalisation written out as ReduceMean, Sub, Pow (or Mul by itself), ReduceMean, Add
// eps, Sqrt, Div, then optionally Mul by a scale and Add of a shift (what exporters emit before
// opset 17) becomes one LayerNormalization node (axis = the first reduced axis, epsilon = eps,
// scale = the Mul's operand or ones, bias = the Add's operand when present): one kernel computes
// mean, variance and the normalised row while the row is in cache, instead of four kernels and
// three round trips through memory. Applies when both means reduce the same trailing axes with
// keepdims, the centred value is read only by the square and the Div, every other intermediate
// has one reader and is not a graph output, eps is a scalar constant, and scale and shift have the
// shape of the normalised dims. The last node of the chain becomes the LayerNormalization and
// keeps its output value (and so its name).
Result<PassStats> FuseLayerNorm(Graph& g);

// All of the above in the builder's order: RemoveIdentities, FoldBatchNorm, BatchNormAsAffine,
// FuseLayerNorm, EliminateDeadCode. (Element-wise fusion is a decision of the lowering: lower/kernel_groups.h.)
Result<std::vector<PassStats>> RunBuildPasses(Graph& g);

}  // namespace opal::passes
