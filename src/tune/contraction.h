// The contraction template's internals (opal/contraction.h has the contraction view of a
// workload): the channel-vectorised form, its weight layout, and the padded grid of convs.
// Internal interface of opal_tune: the lowering and the builder use it.
#pragma once

#include <cstdint>
#include <vector>

#include "opal/contraction.h"
#include "opal/workload.h"

namespace opal::tune {

// conv2d computed channel-vectorised (the `chan` knob of contraction_space.h): the contraction
// with the roles of x and y exchanged, x = output channel within its group (the vector
// dimension), y = output pixel, b and r as above. Its B(x, r, b) is the weights re-laid out ahead
// of time in panels of output channels (PackChanWeights; contiguous along x, so read in place), its A
// the im2col of the input. For small outputs (7x7 = 49 pixels) whose channels are many: every
// vector lane is an output channel, and the weights are read once per call as contiguous panels.
// The output memory stays [n][k][oh][ow].
Contraction ChanContractionOf(const Workload& w);

// ONNX conv weights [k][c/groups][kh][kw] -> [groups][k/groups/panel][(c/groups)*kh*kw][panel],
// the layout the kernel of a `chan` config reads: panels of `panel` output channels (its register
// tile's width, ChanWeightPanel of contraction_space.h), each one contiguous stream along the
// reduction. Precondition: `panel` divides k/groups. `packed` holds as many elements as `onnx`.
void PackChanWeights(const Workload& w, int64_t panel, const float* onnx, float* packed);

// The weights operand (input 1: conv weights, dense B) as config `k` reads it when it is a layout
// prepared ahead of time, from a constant of the model (by the builder) or before the timed runs
// (by the measurement), as a framework re-lays out weights when it loads a model:
//  - `chan 1` convs: PackChanWeights's panels of ChanWeightPanel channels (as many elements);
//  - dense with `pack_b 3`: B in panels of RX = vec*rx columns, [ceil(n/RX)][k][RX], the columns
//    past n zero (each register tile's B is one contiguous stream, no per-call packing);
//  - pixel-vectorised convs (`chan 0`) with `pack_a 1`: the weights (A) in panels of RY = ry output
//    channels per group, [groups * ceil(kg/RY)][c/groups*kh*kw][RY], the channels past kg zero
//    (kg = k/groups), instead of being packed again on every call.
// PackedWeightsShape is {} when `k` reads the weights as given.
struct ContractionKnobs;
std::vector<int64_t> PackedWeightsShape(const Workload& w, const ContractionKnobs& k);
// Writes the packed layout of `src` (the operand in its own layout) to `dst`, which holds
// NumElements(PackedWeightsShape(w, k)) floats. Precondition: the shape is not {}.
void PackWeights(const Workload& w, const ContractionKnobs& k, const float* src, float* dst);

// The pitch grid of a conv computed with `grid 1` (contraction_space.h). The zero-padded input is
// split into stride_h x stride_w phases (phase (py, px) holds padded rows s_h*i + py, columns
// s_w*j + px; one phase for stride 1), each `pitch` = ceil((W + pad_l + pad_r) / stride_w)
// columns wide. Output pixel (oy, ox) is grid position g = oy*pitch + ox, and its reduction step
// (ci, ky, kx) reads phase ((ky*dh) % s_h, (kx*dw) % s_w) at g + ((ky*dh) / s_h)*pitch +
// (kx*dw) / s_w: a shifted read, contiguous in g. Columns ox >= OW of the grid are not stored
// (computed where a register tile extends past OW).
struct ConvGrid {
  int64_t pitch = 0, oh = 0, ow = 0;
  // Register tiles of `ry` grid positions a channel-vectorised kernel computes per output row:
  // each a block of `ry` columns within the row, ceil(OW / ry) of them.
  int64_t RowBlocks(int64_t ry) const { return (ow + ry - 1) / ry; }
};
ConvGrid ConvGridOf(const Workload& w);

// The positions i in [0, n) of one stride phase (rows or columns) whose input coordinate
// i*stride + phase - pad lies in [0, extent): the part of the phase a copy of the input fills,
// the rest being zero padding. Empty when last < first.
struct PhaseSpan {
  int first = 0, last = -1;
  int size() const { return last - first + 1; }
};
PhaseSpan PhaseSpanOf(int extent, int pad, int phase, int stride, int n);

// Output rows per tile of a channel-vectorised conv on the grid whose cache tile holds about
// `tile_pixels` output pixels: the largest divisor of the output height whose rows hold at most
// that many pixels (at least one row), so that tiles are whole rows and none overlaps another.
int64_t ChanGridRows(const Workload& w, int64_t tile_pixels);

}  // namespace opal::tune
