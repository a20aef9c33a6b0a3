// The algorithm of the contraction template (contraction_algorithm.h): operands per op
// (contraction.h), the register-tile product, the output with its epilogue. No scheduling here.
#include <algorithm>

#include "tune/contraction_algorithm.h"

namespace opal::tune {
namespace {

using Halide::Expr;
using Halide::Func;
using Halide::ImageParam;
using Halide::RDom;
using Halide::Var;

Expr Clamped(Expr v, int64_t extent) {
  return Halide::clamp(Halide::likely(v), 0, static_cast<int>(extent - 1));
}

// Defines A_(k, y, b) and B_(x, k, b) of the contraction for `w` (indices outside the output
// are clamped, so rounded-up tiles read valid memory), creating the operand params.
// With `grid` (UsesGrid), the pixel side's index is a position on the grid of ConvGridOf (the
// zero-padded input's row pitch, split into stride phases) instead of an output pixel.
// With `im2col` (a conv2d of Im2colEligible, grid 0), the im2col matrix is materialised first, output
// row by output row, in memory ordered like the output pixels (so B's reads of it are plain
// contiguous loads).
// With `chan` (UsesChan), the roles are exchanged (ChanContractionOf):
// A_(k, y, b) is the im2col at output pixel y and B_(x, k, b) the weights of output channel x,
// read from the layout of PackChanWeights in panels of `panel` channels when panel > 0 (chan
// only), else from the ONNX one.
void DefineOperands(const Workload& w, const Contraction& c, bool grid, bool im2col, bool chan,
                    int64_t panel, int vec, ContractionFuncs* kernel, OperandStages* st, Func* A_, Func* B_) {
  Var x("x"), y("y"), b("b"), k("k");
  Expr yc = Clamped(y, c.ny), xc = Clamped(x, c.nx);
  OperandShapes shapes = OperandsOf(w);
  if (w.op() == "dense") {
    bool ta = w.json().at("trans_a").get<bool>(), tb = w.json().at("trans_b").get<bool>();
    ImageParam A(Halide::Float(32), 2, "A"), B(Halide::Float(32), 2, "B");
    (*A_)(k, y, b) = ta ? A(yc, k) : A(k, yc);
    (*B_)(x, k, b) = tb ? B(k, xc) : B(xc, k);
    kernel->params = {A, B};
    kernel->views = {DenseHalideView(shapes.inputs[0]), DenseHalideView(shapes.inputs[1])};
  } else if (w.op() == "batch_matmul") {
    bool shared = w.json().at("broadcast") == "a";
    ImageParam A(Halide::Float(32), 3, "A"), B(Halide::Float(32), 3, "B");
    (*A_)(k, y, b) = A(k, yc, shared ? Expr(0) : Expr(b));
    (*B_)(x, k, b) = B(xc, k, b);
    kernel->params = {A, B};
    kernel->views = {DenseHalideView(shapes.inputs[0]), DenseHalideView(shapes.inputs[1])};
  } else {
    const int64_t G = w.Get("groups"), H = w.Get("h"), W = w.Get("w"), cg = w.Get("c") / G;
    const int64_t KH = w.Get("kh"), KW = w.Get("kw"), OW = ConvOutW(w);
    ImageParam Wt(Halide::Float(32), panel > 0 ? 3 : 2, "weights");
    HalideView wview = {{c.nr, 1}, {w.Get("k"), c.nr}};
    // The pixel side: pix(x, k, b) is B of the pixel-vectorised contraction, x an output pixel.
    Func pix("pix");
    if (!chan) {
      Expr row = G > 1 ? (b % static_cast<int>(G)) * static_cast<int>(c.ny) + yc : yc;
      (*A_)(k, y, b) = Wt(k, row);
    } else {
      // B_(x = output channel in group, k, b); A_(k, y = output pixel, b) = pix(y, k, b).
      const int kg = static_cast<int>(c.ny);
      Expr ch = Clamped(x, c.ny);
      Expr grp = G > 1 ? (b % static_cast<int>(G)) : Expr(0);
      if (panel > 0) {
        // [group][panel][r][lane]: channel ch is lane ch % panel of panel ch / panel.
        const int np = static_cast<int>(c.ny / panel), pw = static_cast<int>(panel);
        wview = {{panel, 1}, {c.nr, panel}, {G * np, c.nr * panel}};
        (*B_)(x, k, b) = Wt(ch % pw, k, grp * np + ch / pw);
      } else {
        (*B_)(x, k, b) = Wt(k, grp * kg + ch);
      }
    }
    Func* P_ = chan ? &pix : B_;  // where the pixel side is defined
    if (grid) {
      // The pixel side on the grid of ConvGridOf. Pf(j, b) is the zero-padded input split into
      // stride phases, flattened as [ci][phase][row][col] with row pitch `pitch` (rows enough for
      // every tap of every grid position); pixel g of step k reads grid_flat(g + tap(k), b), where the
      // table tap(k) holds step k's offset, so the reduction loop does no index arithmetic.
      const ConvGrid gs = ConvGridOf(w);
      const int sh = static_cast<int>(w.Get("stride_h")), sw = static_cast<int>(w.Get("stride_w"));
      const int dh = static_cast<int>(w.Get("dilation_h")), dw = static_cast<int>(w.Get("dilation_w"));
      // Only the phases some tap reads: (ky*dh) % sh < min(sh, (KH-1)*dh + 1), likewise for x
      // (a 1x1 stride-2 conv reads one phase of four).
      const int nph = std::min<int>(sh, (static_cast<int>(KH) - 1) * dh + 1);
      const int npw = std::min<int>(sw, (static_cast<int>(KW) - 1) * dw + 1);
      const int pitch = static_cast<int>(gs.pitch), phases = nph * npw;
      const int rows = static_cast<int>(gs.oh) + (static_cast<int>(KH) - 1) * dh / sh + 1;
      const int plane = rows * pitch, per_ci = phases * plane, total = static_cast<int>(cg) * per_ci;
      ImageParam In(Halide::Float(32), 4, "input");
      // Zeros, then, phase by phase, the input rows and columns that phase holds copied in: a
      // phase's columns are one input row read with stride sw (dense loads and a shuffle), stored
      // contiguously, with no clamp or select per element (a clamped read is a gather).
      const Var j = st->j, bb = st->bb;
      st->grid_flat(j, bb) = 0.f;
      const int pl = static_cast<int>(w.Get("pad_left")), pt = static_cast<int>(w.Get("pad_top"));
      const int nbb = static_cast<int>(c.nb);
      st->grid_copies.clear();
      for (int ph = 0; ph < phases; ++ph) {
        const int py = ph / npw, px = ph % npw;
        const PhaseSpan cols = PhaseSpanOf(static_cast<int>(W), pl, px, sw, pitch);
        const PhaseSpan rws = PhaseSpanOf(static_cast<int>(H), pt, py, sh, rows);
        if (cols.size() <= 0 || rws.size() <= 0) continue;
        // Per batch, the copy covers the batch bb of the grid being made; otherwise every batch.
        Halide::Region dom = {{cols.first, cols.size()}, {rws.first, rws.size()}, {0, static_cast<int>(cg)}};
        if (!st->per_batch) dom.emplace_back(0, nbb);
        Halide::RDom r(dom, "phase");
        Expr batch = st->per_batch ? Expr(bb) : Expr(r.w);
        st->grid_flat(r.z * per_ci + ph * plane + r.y * pitch + r.x, batch) =
            In(r.x * sw + px - pl, r.y * sh + py - pt, r.z, batch);
        st->grid_copies.push_back({r, cols.size()});
      }
      int lanes = 1;
      while (lanes * 2 <= std::min(pitch, vec)) lanes *= 2;
      st->grid_total = total;
      st->grid_batches = nbb;
      st->grid_lanes = lanes;
      Expr kx = (k % static_cast<int>(KW)) * dw, ky = ((k / static_cast<int>(KW)) % static_cast<int>(KH)) * dh;
      st->tap(k) = (k / static_cast<int>(KH * KW)) * per_ci + ((ky % sh) * npw + kx % sw) * plane + (ky / sh) * pitch + kx / sw;
      Expr gc = Clamped(x, gs.pitch * gs.oh);
      (*P_)(x, k, b) = st->grid_flat(Halide::unsafe_promise_clamped(gc + st->tap(k), 0, total - 1), b);
      kernel->params = {In, Wt};
      kernel->views = {{{W, 1}, {H, W}, {cg, H * W}, {w.Get("n") * G, cg * H * W}}, wview};
    } else if (c.b_direct) {
      // 1x1, stride 1, no padding: input pixels are output pixels; B is the input read in place.
      ImageParam In(Halide::Float(32), 3, "input");
      (*P_)(x, k, b) = In(xc, k, b);
      kernel->params = {In, Wt};
      kernel->views = {{{H * W, 1}, {cg, H * W}, {w.Get("n") * G, cg * H * W}}, wview};
    } else {
      // Implicit im2col: B(pixel, (ci, ky, kx)) = input(ix, iy, ci), zero in the padding.
      ImageParam In(Halide::Float(32), 4, "input");
      Func padded = Halide::BoundaryConditions::constant_exterior(
          In, 0.f,
          {{0, static_cast<int>(W)}, {0, static_cast<int>(H)}, {Expr(), Expr()}, {Expr(), Expr()}});
      const Var oxv = st->ox, oyv = st->oy;
      Expr ox = im2col ? Expr(oxv) : xc % static_cast<int>(OW), oy = im2col ? Expr(oyv) : xc / static_cast<int>(OW);
      Expr kx = k % static_cast<int>(KW), ky = (k / static_cast<int>(KW)) % static_cast<int>(KH);
      Expr ci = k / static_cast<int>(KH * KW);
      Expr ix = ox * static_cast<int>(w.Get("stride_w")) +
                kx * static_cast<int>(w.Get("dilation_w")) - static_cast<int>(w.Get("pad_left"));
      Expr iy = oy * static_cast<int>(w.Get("stride_h")) +
                ky * static_cast<int>(w.Get("dilation_h")) - static_cast<int>(w.Get("pad_top"));
      if (im2col) {
        // cols(ox, oy, k, b) is stored ox-innermost, so pixel x = oy*OW + ox is its flat offset
        // and B's read below simplifies to a contiguous load.
        st->cols(oxv, oyv, k, b) = padded(ix, iy, ci, b);
        (*P_)(x, k, b) = st->cols(xc % static_cast<int>(OW), xc / static_cast<int>(OW), k, b);
        int lanes = 1;
        while (lanes * 2 <= std::min<int64_t>(OW, vec)) lanes *= 2;
        st->cols_lanes = lanes;
      } else {
        (*P_)(x, k, b) = padded(ix, iy, ci, b);
      }
      kernel->params = {In, Wt};
      kernel->views = {{{W, 1}, {H, W}, {cg, H * W}, {w.Get("n") * G, cg * H * W}}, wview};
    }
    if (chan) (*A_)(k, y, b) = pix(y, k, b);
  }
  for (size_t i = 0; i < kernel->params.size(); ++i)
    ConstrainToView(kernel->params[i], kernel->views[i]);
  // Output: (x, y, b) with x contiguous; the conv output [n][k][oh][ow] viewed as
  // [n*groups][k/groups][oh*ow] is the same memory.
  kernel->out_view = {{c.nx, 1}, {c.ny, c.nx}, {c.nb, c.nx * c.ny}};
}

}  // namespace

Result<ContractionAlgorithm> DefineContractionAlgorithm(const Workload& w, const Config& config,
                                                        const ContractionOptions& options) {
  if (!SupportedWorkload(w))
    return Error(ErrorCode::kUnsupported, "halide: workload {} not supported", w.Summary());
  ContractionAlgorithm a;
  const Contraction c0 = ContractionOf(w);
  a.knobs = ContractionKnobs::From(config);
  // B packed ahead of time, but only the given layout is there: pack it per call instead.
  if (options.weights_as_given && a.knobs.pack_b == 3) a.knobs.pack_b = 1;
  const ContractionKnobs kn = a.knobs;
  Func A_("A_"), B_("B_");
  a.chan = UsesChan(w, kn);
  a.grid = UsesGrid(w, kn);
  a.im2col = kn.im2col == 1 && Im2colEligible(w) && !a.grid;
  const bool chan = a.chan, grid = a.grid;
  const int64_t panel = chan && !options.weights_as_given ? ChanWeightPanel(w, kn) : 0;
  a.stages.per_batch = (grid || a.im2col) && PerBatchOperands(w, kn);
  DefineOperands(w, c0, grid, a.im2col, chan, panel, kn.vec, &a.funcs, &a.stages, &A_, &B_);
  if (!options.weights_as_given) a.funcs.packed_weights = PackedWeightsShape(w, kn);
  const bool dense_panels = w.op() == "dense" && kn.pack_b == 3;
  a.a_prepacked = PacksConvWeightsAhead(w, kn) && !options.weights_as_given;
  // B is [ceil(n/RX)][k][RX], or a conv's A [groups*ceil(kg/RY)][nr][RY] (PackWeights): replace
  // the param DefineOperands made.
  if (dense_panels || a.a_prepacked) {
    const std::vector<int64_t>& ps = a.funcs.packed_weights;
    Halide::ImageParam Bpk(Halide::Float(32), 3, dense_panels ? "B_panels" : "A_panels");
    a.funcs.params[1] = Bpk;
    a.funcs.views[1] = {{ps[2], 1}, {ps[1], ps[2]}, {ps[0], ps[1] * ps[2]}};
    ConstrainToView(a.funcs.params[1], a.funcs.views[1]);
  }
  const Contraction c = a.c = chan ? ChanContractionOf(w) : c0;

  a.vec = kn.vec;
  a.RX = kn.vec * kn.rx;
  a.RY = kn.ry;
  const int vec = a.vec, RX = a.RX, RY = a.RY;
  a.TX = RX * kn.tx;
  a.TY = RY * kn.ty;
  const ConvGrid gs = grid ? ConvGridOf(w) : ConvGrid{};
  a.OW = static_cast<int>(gs.ow);
  a.pitch = static_cast<int>(gs.pitch);
  const int OW = a.OW, pitch = a.pitch;
  if (grid && !chan) {
    // Output tiles are whole rows (about TX grid columns), so that a tile's grid range is
    // contiguous: m rows of pitch `pitch`.
    const int64_t min_rows = (vec + gs.ow - 1) / gs.ow;  // a tile holds at least one vector
    const int64_t rows = std::clamp<int64_t>(std::max<int64_t>((a.TX + gs.pitch / 2) / gs.pitch, min_rows), 1, gs.oh);
    a.TX = static_cast<int>(rows * gs.ow);
  } else if (grid) {
    a.TY = static_cast<int>(ChanGridRows(w, a.TY) * gs.ow);  // whole rows, tiles not overlapping
  }
  const Var x = a.x, y = a.y, b = a.b, xv = a.xv, yv = a.yv, xp = a.xp, yp = a.yp;
  Var k("k");
  // Operands in register-panel coordinates: column x = xp*RX + xv, row y = yp*RY + yv.
  // Channel-vectorised on the grid, a register tile is a block of RY pixels within one output
  // row (`nb` blocks per row): row yp / nb, columns (yp % nb)*RY + yv of the grid. When RY
  // divides the output width no grid column is computed in vain.
  const int nb = a.nb = grid && chan ? static_cast<int>(gs.RowBlocks(RY)) : 0;
  if (nb > 0) {
    a.Ap(yv, k, yp, b) = A_(k, (yp / nb) * pitch + (yp % nb) * RY + yv, b);
  } else if (a.a_prepacked) {
    const int G = static_cast<int>(w.Get("groups")), np = static_cast<int>(a.funcs.packed_weights[0]) / G;
    Expr panel = Halide::clamp(Halide::likely(yp), 0, np - 1);
    a.Ap(yv, k, yp, b) = a.funcs.params[1](yv, k, G > 1 ? (b % G) * np + panel : panel);
  } else {
    a.Ap(yv, k, yp, b) = A_(k, yp * RY + yv, b);
  }
  if (dense_panels) {
    const int np = static_cast<int>(a.funcs.packed_weights[0]);
    a.Bp(xv, k, xp, b) = a.funcs.params[1](xv, k, Halide::clamp(Halide::likely(xp), 0, np - 1));
  } else {
    a.Bp(xv, k, xp, b) = B_(xp * RX + xv, k, b);
  }
  a.r = RDom(0, static_cast<int>(c.nr), "r");
  a.prod(xv, yv, xp, yp, b) = 0.f;
  a.prod(xv, yv, xp, yp, b) += a.Ap(yv, a.r, yp, b) * a.Bp(xv, a.r, xp, b);
  // The output's (x, y) are (pixel, channel) for a conv; vx and vy are the contraction's
  // columns and rows among them (exchanged with chan).
  const Var vx = chan ? y : x, vy = chan ? x : y;
  // The register tile and lane of output (x, y): on the grid, pixel x is grid position
  // (x / OW)*pitch + x % OW, or with chan, lane (x % OW) % RY of block (x / OW)*nb + (x % OW) / RY.
  Expr px = vx;
  if (grid && !chan) px = (x / OW) * pitch + x % OW;
  Expr lane_y = vy % RY, tile_y = vy / RY;
  if (nb > 0) {
    Expr ox = x % OW;
    lane_y = ox % RY;
    tile_y = (x / OW) * nb + ox / RY;
  }
  // With `transpose`, a register tile is first transposed (pixels innermost) into `tr`, so
  // that the output is stored as rows of RY pixels, not a channel vector lane by lane.
  a.transpose = chan && kn.transpose == 1;
  if (a.transpose) a.tr(yv, xv, xp, yp, b) = a.prod(xv, yv, xp, yp, b);
  Expr result = a.transpose ? a.tr(lane_y, px % RX, px / RX, tile_y, b) : a.prod(px % RX, lane_y, px / RX, tile_y, b);
  if (options.epilogue) result = options.epilogue(result, x, y, b);
  if (options.inject_wrong_result) result = Halide::select(x == 0 && y == 0 && b == 0, result + 1.f, result);
  a.out(x, y, b) = result;
  return a;
}

}  // namespace opal::tune
