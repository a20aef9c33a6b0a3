// Depthwise 2-D convolution (groups == channels == output channels, NCHW, float32) as a direct
// kernel with the node's epilogue: each output channel reads one input channel, so there is no
// reduction over channels to block for registers, and the contraction template (one output row
// per batch) runs it far below memory speed. Here a zero-padded copy of the channel plane is made
// per channel (so the inner loop has no bounds checks), and the taps are summed unrolled with
// output pixels vectorised along the row; channels are the parallel loop. Fixed schedule (not
// tuned).
#pragma once

#include "lower/lowering.h"
#include "opal/workload.h"

namespace opal::lower {

// Precondition: tune::IsDepthwiseConv(w) and w is node n's workload.
Result<KernelDef> LowerDepthwiseConv(const Graph& g, const Node& n, const Workload& w, const LowerOptions& o);

}  // namespace opal::lower
