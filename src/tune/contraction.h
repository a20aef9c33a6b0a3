// Every tunable workload (dense, batch_matmul, conv2d) is computed as one batched contraction
//
//   C(x, y, b) = sum_r A(r, y, b) * B(x, r, b)       x < nx, y < ny, b < nb, r < nr
//
// where x runs along contiguous output memory (the vector dimension), y along output rows and b
// over independent batches:
//   dense        x = n, y = m, b = 1, r = k
//   batch_matmul x = n, y = m, b = batch, r = k (A shared by every batch when broadcast = "a")
//   conv2d       x = output pixel (oh*OW + ow), y = output channel within its group,
//                b = image * groups + group, r = (input channel in group, ky, kx); B is the
//                implicit im2col matrix of the input (zero outside the padded image).
// One schedule space (contraction_space.h) and one Halide template (halide_kernel.h) serve all
// three, so what is learned about tiling a GEMM carries over to convolutions.
//
// Operand memory layouts are the ONNX ones, row-major: dense A [m][k] (or [k][m] when trans_a),
// B [k][n] (or [n][k] when trans_b), C [m][n]; batch_matmul A [batch or 1][m][k], B [batch][k][n],
// C [batch][m][n]; conv2d input [n][c][h][w], weights [k][c/groups][kh][kw], output [n][k][oh][ow].
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "opal/workload.h"

namespace opal::tune {

struct Contraction {
  int64_t nx = 0, ny = 0, nb = 0, nr = 0;
  // B(x, r, b) is a plain row-major read with x contiguous (dense without trans_b, batch_matmul,
  // conv2d 1x1 with stride 1 and no padding): the kernel may read B in place without packing.
  bool b_direct = false;
  // A(r, y, b) is contiguous along r (dense without trans_a, batch_matmul, conv2d).
  bool a_r_contiguous = false;
};

// A depthwise conv2d (groups == c == k > 1). The template computes it correctly but slowly (one
// output row per batch, nothing to block over); the builder uses a direct kernel for it instead
// (src/lower/lower_depthwise.h), so the tuning framework does not offer it as a task.
bool IsDepthwiseConv(const Workload& w);

// Supported: fp32 dense, batch_matmul, conv2d (NCHW). Precondition: SupportedWorkload(w).
Contraction ContractionOf(const Workload& w);
bool SupportedWorkload(const Workload& w);

// Shapes (row-major, outermost first) of the kernel's inputs, in call order, and of its output.
struct OperandShapes {
  std::vector<std::vector<int64_t>> inputs;
  std::vector<int64_t> output;
};
OperandShapes OperandsOf(const Workload& w);
int64_t NumElements(const std::vector<int64_t>& shape);

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

// Conv2d output height and width.
int64_t ConvOutH(const Workload& w);
int64_t ConvOutW(const Workload& w);

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

// Output rows per tile of a channel-vectorised conv on the grid whose cache tile holds about
// `tile_pixels` output pixels: the largest divisor of the output height whose rows hold at most
// that many pixels (at least one row), so that tiles are whole rows and none overlaps another.
int64_t ChanGridRows(const Workload& w, int64_t tile_pixels);

}  // namespace opal::tune
