// Schedule space of the "contraction" template (docs/tuning.md explains every knob).
//
//   vec       lanes per vector: the target's native fp32 width, or half of it for narrow outputs
//   rx, ry    register tile: rx vectors along x (columns) times ry rows; rx*ry accumulators stay
//             in vector registers for the whole reduction (or one kc block of it)
//   tx, ty    cache tile = tx register tiles along x times ty along y; the unit of parallel work
//             and of the accumulator buffer
//   kc        reduction block (0 = none): the reduction is split so a B panel block stays in L1
//   unroll_r  reduction steps unrolled in the innermost loop (3 and 9: a 3x3 conv's taps)
//   order     0: row tiles outer, column tiles inner; 1: column tiles outer
//   inner     register-tile loop order inside a cache tile: 0 = rows innermost (reuse the B
//             panel), 1 = columns innermost (reuse the A panel)
//   par       0: parallel over the outer tile loop (or the batch); 1: outer tiles x batch fused;
//             2: all tiles and batches fused into one parallel loop
//   pack_b    B panels [x/RX][r][RX] contiguous: 0 = read in place (only when B is row-major with
//             x contiguous), 1 = packed once (root), 2 = packed per outer column tile (order 1)
//   pack_a    A panels [y/RY][r][RY]: 0 = in place, 1 = packed once, 2 = per outer row tile (order
//             0); with 1, a pixel-vectorised conv's A (its weights) is packed ahead of time
//             (PackedWeightsShape of contraction.h), not in every call
//   grid      conv2d with stride 1 and a kernel larger than 1x1 (GridEligible), or with chan 1 any
//             conv2d not read in place (ChanGridEligible): 0 = implicit im2col over the output
//             pixels; 1 = the output computed on the grid of ConvGridOf (the padded input's row
//             pitch, split into stride phases), so that the pixel side is a plain shifted read of
//             a zero-padded copy of the input (no index arithmetic per element, may be read in
//             place) at the cost of (pitch - OW)/pitch wasted columns
//   im2col    conv2d with an implicit im2col only (Im2colEligible): 0 = the B panels gather the
//             input directly (an output-pixel and a reduction index decomposed per element); 1 =
//             the im2col matrix [r][x] is first materialised output row by output row (vector
//             loads along input rows, no per-element division), then packed into panels or, with
//             pack_b 0, read in place
//   chan      conv2d with at least 8 output channels per group (ChanEligible): 0 = vectorised
//             over output pixels (the contraction of ContractionOf); 1 = vectorised over output
//             channels (ChanContractionOf): x and y exchanged, B = the weights packed ahead of
//             time (PackChanWeights), A = the input's im2col (gathered, or materialised first with
//             im2col 1) or, with grid 1, the padded input read in place on its grid
//   transpose with chan 1 (ChanEligible): how a register tile reaches the output, whose pixels
//             are contiguous: 0 = each channel vector stored lane by lane (one scalar store per
//             output); 1 = the tile transposed in registers (a shuffle) and stored as rows of RY
//             pixels. Short reductions (1x1 convs, the stem) spend a large share of their time
//             in this store
#pragma once

#include "opal/target.h"
#include "opal/tuning_space.h"
#include "opal/workload.h"
#include "tune/contraction.h"

namespace opal::tune {

inline constexpr char kContractionTemplate[] = "contraction";

struct ContractionKnobs {
  int vec = 8, rx = 1, ry = 1, tx = 1, ty = 1, kc = 0, unroll_r = 1;
  int order = 0, inner = 0, par = 0, pack_a = 0, pack_b = 0;
  int grid = 0;    // only in the spaces of GridEligible or ChanGridEligible workloads
  int im2col = 0;  // only in the spaces of Im2colEligible workloads
  int chan = 0;    // only in the spaces of ChanEligible workloads
  int transpose = 0;  // likewise; 1 only with chan 1

  // Precondition: c was validated by the space.
  static ContractionKnobs From(const Config& c);
  // The config in the space of `w` (with the grid and im2col knobs where that space has them).
  Config ToConfig(const Workload& w) const;
};

// conv2d with unit strides and a kernel larger than 1x1: the space offers `grid`.
bool GridEligible(const Workload& w);

// ChanEligible conv2d whose input is not read in place (a kernel larger than 1x1, a stride or
// padding): the space offers `grid` together with `chan 1` (any stride, on stride phases).
bool ChanGridEligible(const Workload& w);

// True when the config computes `w` on the grid of ConvGridOf (grid 1, eligible for its chan).
bool UsesGrid(const Workload& w, const ContractionKnobs& k);

// conv2d whose B is not the input read in place (a kernel larger than 1x1, a stride or padding):
// the space offers `im2col`.
bool Im2colEligible(const Workload& w);

// conv2d (not depthwise) with at least 8 output channels per group: the space offers `chan`.
bool ChanEligible(const Workload& w);

// True when the config computes `w` vectorised over channels (chan 1): its kernel reads the
// weights as PackChanWeights lays them out. The one test every user of the knob goes through.
bool UsesChan(const Workload& w, const ContractionKnobs& k);

// True when the config reads a conv's weights, its A operand, as register panels packed ahead of
// time (pixel-vectorised, pack_a 1: PackedWeightsShape of contraction.h) instead of packing them
// in every call. The one test every user of the layout goes through.
bool PacksConvWeightsAhead(const Workload& w, const ContractionKnobs& k);

// Output channels per weight panel of a chan config (PackChanWeights): its register tile's width,
// vec * rx, when that divides the output channels per group (each panel is then the stream of one
// register tile), else all of them (one panel).
int64_t ChanWeightPanel(const Workload& w, const ContractionKnobs& k);

// The contraction a config computes: ChanContractionOf(w) when UsesChan, else ContractionOf(w).
Contraction ContractionFor(const Workload& w, const ContractionKnobs& k);

// Iterations of the parallel loop that knob `par` makes, with `order`, for contraction `c` in
// cache tiles of TX columns by TY rows (the schedule's tiles; the cost model's `tasks` feature).
int64_t ParallelTasks(int par, int order, const Contraction& c, int64_t TX, int64_t TY);

// The parallel loop the schedule uses: the config's `par`, except that a loop of fewer than two
// iterations (the kernel on one core) is replaced by par 2's (every tile and batch fused) when
// that has two or more.
int EffectivePar(const ContractionKnobs& k, const Contraction& c, int64_t TX, int64_t TY);

// Whether a conv's operand stage (the padded grid or the im2col matrix) is made per batch inside
// the parallel loop instead of for every batch before it: when that loop runs over the batches
// (par 0, two or more batches: batch x groups of a grouped conv, so a ResNeXt 3x3 conv of 32
// groups makes each group's 16-channel grid right before its product reads it), unless the
// pixel side's panels are packed once per call (they read the stage of every batch first).
bool PerBatchOperands(const Workload& w, const ContractionKnobs& k);

// Vector registers of the target (16 for AVX2, 32 for AVX-512).
int VectorRegisters(const Target& t);

ConfigSpace ContractionSpace(const Workload& w, const Target& t);

// The schedule used when nothing better is known (and the search's first seed): for a 1x1
// stride-1 conv with at most 256 input channels and at least 3,136 output pixels, a register tile
// vectorised over pixels with no cache tile (the input read in place, the weights packed per call);
// for other convs the channel-vectorised tile of the seeds below; for products a tile known to
// perform well on large GEMM-like shapes.
Config ContractionDefault(const Workload& w, const Target& t);

// Configs the search measures first: the default, then a register tile fitted to the output
// width (the number of vectors that covers nx with the least padding, e.g. 4 x 16 lanes for the
// 49 pixels of a 7x7 output, where the default's 3 vectors would compute two shifted tiles, 96
// columns) with as many rows as the registers hold, the reduction blocked when it is long; for
// convs, the channel-vectorised tiles with and without a cache tile and the pixel-vectorised
// register tile without one. Every config is in ContractionSpace(w, t); duplicates are dropped.
std::vector<Config> ContractionSeeds(const Workload& w, const Target& t);

}  // namespace opal::tune
