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
// One schedule space and one Halide template (src/tune) serve all three, so what is learned about tiling a GEMM carries over to convolutions.
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

// Conv2d output height and width.
int64_t ConvOutH(const Workload& w);
int64_t ConvOutW(const Workload& w);

}  // namespace opal::tune
