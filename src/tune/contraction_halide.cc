// The contraction template's algorithm (per op, contraction.h) and its schedule (driven by a
// config of contraction_space.h), with the epilogue hook of contraction_halide.h.
#include "tune/contraction_halide.h"

#include <algorithm>

#include "tune/contraction.h"
#include "tune/contraction_space.h"

namespace opal::tune {
namespace {

using Halide::Expr;
using Halide::Func;
using Halide::ImageParam;
using Halide::RDom;
using Halide::RVar;
using Halide::TailStrategy;
using Halide::Var;

Expr Clamped(Expr v, int64_t extent) {
  return Halide::clamp(Halide::likely(v), 0, static_cast<int>(extent - 1));
}

void Constrain(Halide::OutputImageParam p, const HalideView& v) {
  p.set_host_alignment(64);
  for (size_t i = 0; i < v.size(); ++i) {
    p.dim(static_cast<int>(i))
        .set_bounds(0, static_cast<int>(v[i].extent))
        .set_stride(static_cast<int>(v[i].stride));
  }
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
                    int64_t panel, int vec, ContractionFuncs* kernel, Func* A_, Func* B_) {
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
      // every tap of every grid position); pixel g of step k reads Pf(g + tap(k), b), where the
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
      Func padded = Halide::BoundaryConditions::constant_exterior(
          In, 0.f,
          {{0, static_cast<int>(W)}, {0, static_cast<int>(H)}, {Expr(), Expr()}, {Expr(), Expr()}});
      Var j("j"), bb("bb"), jo("jo"), ji("ji");
      // Pf(j, bb) = grid_row(j % pitch, j / pitch, bb): one row of the grid (of one phase of
      // one input channel) is computed and copied at a time, so that the row's indices are
      // scalars and its columns a (strided) vector load of one input row.
      Var gcol("gcol"), gr("gr"), jr("jr"), jc("jc");
      Func grid_row("grid_row"), Pf("padded_flat");
      Expr row = gr % rows, ph = (gr / rows) % phases, ci_j = gr / (rows * phases);
      grid_row(gcol, gr, bb) = padded(gcol * sw + ph % npw - static_cast<int>(w.Get("pad_left")),
                                    row * sh + ph / npw - static_cast<int>(w.Get("pad_top")), ci_j, bb);
      Pf(j, bb) = grid_row(j % pitch, j / pitch, bb);
      int lanes = 1;
      while (lanes * 2 <= std::min(pitch, vec)) lanes *= 2;
      // Parallel over input channels, or over groups of rows when there are few (the stem's 3).
      const int grid_rows = total / pitch;
      const int task_rows = cg >= 8 ? grid_rows / static_cast<int>(cg) : std::max(1, grid_rows / 16);
      Pf.compute_root().bound(j, 0, total).split(j, ji, jc, pitch).split(ji, jo, jr, task_rows, TailStrategy::GuardWithIf).parallel(jo);
      grid_row.compute_at(Pf, jr);
      if (lanes > 1) {
        Pf.vectorize(jc, lanes, TailStrategy::ShiftInwards);
        grid_row.vectorize(gcol, lanes, TailStrategy::ShiftInwards);
      }
      Func tap("tap");
      Expr kx = (k % static_cast<int>(KW)) * dw, ky = ((k / static_cast<int>(KW)) % static_cast<int>(KH)) * dh;
      tap(k) = (k / static_cast<int>(KH * KW)) * per_ci + ((ky % sh) * npw + kx % sw) * plane + (ky / sh) * pitch + kx / sw;
      tap.compute_root().bound(k, 0, static_cast<int>(c.nr));
      Expr gc = Clamped(x, gs.pitch * gs.oh);
      (*P_)(x, k, b) = Pf(Halide::unsafe_promise_clamped(gc + tap(k), 0, total - 1), b);
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
      Var oxv("ox"), oyv("oy");
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
        Func cols("im2col");
        cols(oxv, oyv, k, b) = padded(ix, iy, ci, b);
        (*P_)(x, k, b) = cols(xc % static_cast<int>(OW), xc / static_cast<int>(OW), k, b);
        int lanes = 1;
        while (lanes * 2 <= std::min<int64_t>(OW, vec)) lanes *= 2;
        Var kb("kb");
        cols.compute_root().fuse(k, b, kb).parallel(kb);
        if (lanes > 1) cols.vectorize(oxv, lanes, TailStrategy::ShiftInwards);
      } else {
        (*P_)(x, k, b) = padded(ix, iy, ci, b);
      }
      kernel->params = {In, Wt};
      kernel->views = {{{W, 1}, {H, W}, {cg, H * W}, {w.Get("n") * G, cg * H * W}}, wview};
    }
    if (chan) (*A_)(k, y, b) = pix(y, k, b);
  }
  for (size_t i = 0; i < kernel->params.size(); ++i)
    Constrain(kernel->params[i], kernel->views[i]);
  // Output: (x, y, b) with x contiguous; the conv output [n][k][oh][ow] viewed as
  // [n*groups][k/groups][oh*ow] is the same memory.
  kernel->out_view = {{c.nx, 1}, {c.ny, c.nx}, {c.nb, c.nx * c.ny}};
}

}  // namespace

HalideView DenseHalideView(const std::vector<int64_t>& shape) {
  HalideView v;
  int64_t stride = 1;
  for (auto it = shape.rbegin(); it != shape.rend(); ++it) {
    v.push_back({*it, stride});
    stride *= *it;
  }
  return v;
}

std::string HalideErrorLine(const std::string& s) {
  std::string t = s.substr(0, s.find('\n', s.find_first_not_of('\n')));
  return t.size() > 400 ? t.substr(0, 400) : t;
}

Result<ContractionFuncs> DefineContraction(const Workload& w, const Config& config,
                                           const ContractionOptions& options) {
  if (!SupportedWorkload(w))
    return Error(ErrorCode::kUnsupported, "halide: workload {} not supported", w.Summary());
  const Contraction c0 = ContractionOf(w);
  const ContractionKnobs kn = ContractionKnobs::From(config);
  ContractionFuncs f;
  try {
    Func A_("A_"), B_("B_");
    const bool chan = UsesChan(w, kn);
    const bool grid = UsesGrid(w, kn);
    const bool im2col = kn.im2col == 1 && Im2colEligible(w) && !grid;
    const int64_t panel = chan && !options.chan_weights_onnx_layout ? ChanWeightPanel(w, kn) : 0;
    DefineOperands(w, c0, grid, im2col, chan, panel, kn.vec, &f, &A_, &B_);
    f.weight_panel = panel;
    const Contraction c = chan ? ChanContractionOf(w) : c0;

    const int vec = kn.vec, RX = kn.vec * kn.rx, RY = kn.ry;
    int TX = RX * kn.tx;
    int TY = RY * kn.ty;
    const ConvGrid gs = grid ? ConvGridOf(w) : ConvGrid{};
    const int OW = static_cast<int>(gs.ow), pitch = static_cast<int>(gs.pitch);  // grid only
    if (grid && !chan) {
      // Output tiles are whole rows (about TX grid columns), so that a tile's grid range is
      // contiguous: m rows of pitch `pitch`.
      const int64_t min_rows = (vec + gs.ow - 1) / gs.ow;  // a tile holds at least one vector
      const int64_t rows = std::clamp<int64_t>(std::max<int64_t>((TX + gs.pitch / 2) / gs.pitch, min_rows), 1, gs.oh);
      TX = static_cast<int>(rows * gs.ow);
    } else if (grid) {
      TY = static_cast<int>(ChanGridRows(w, TY) * gs.ow);  // whole rows, tiles not overlapping
    }
    Var x("x"), y("y"), b("b"), k("k"), xv("xv"), yv("yv"), xp("xp"), yp("yp");
    // Operands in register-panel coordinates: column x = xp*RX + xv, row y = yp*RY + yv.
    Func Ap("A_panel"), Bp("B_panel"), prod("prod"), out("out");
    // Channel-vectorised on the grid, a register tile is a block of RY pixels within one output
    // row (`nb` blocks per row): row yp / nb, columns (yp % nb)*RY + yv of the grid. When RY
    // divides the output width no grid column is computed in vain.
    const int nb = grid && chan ? static_cast<int>(gs.RowBlocks(RY)) : 0;
    if (nb > 0) {
      Ap(yv, k, yp, b) = A_(k, (yp / nb) * pitch + (yp % nb) * RY + yv, b);
    } else {
      Ap(yv, k, yp, b) = A_(k, yp * RY + yv, b);
    }
    Bp(xv, k, xp, b) = B_(xp * RX + xv, k, b);
    RDom r(0, static_cast<int>(c.nr), "r");
    prod(xv, yv, xp, yp, b) = 0.f;
    prod(xv, yv, xp, yp, b) += Ap(yv, r, yp, b) * Bp(xv, r, xp, b);
    // The output's (x, y) are (pixel, channel) for a conv; vx and vy are the contraction's
    // columns and rows among them (exchanged with chan).
    const Var vx = chan ? y : x, vy = chan ? x : y;
    // The register tile and lane of output (x, y): on the grid, pixel x is grid position
    // (x / OW)*pitch + x % OW, or with chan, lane (x % OW) % RY of block (x / OW)*nb + (x % OW) / RY.
    Expr px = vx;
    if (grid && !chan)
      px = (x / OW) * pitch + x % OW;
    Expr lane_y = vy % RY, tile_y = vy / RY;
    if (nb > 0) {
      Expr ox = x % OW;
      lane_y = ox % RY;
      tile_y = (x / OW) * nb + ox / RY;
    }
    // With `transpose`, a register tile is first transposed (pixels innermost) into `tr`, so
    // that the output is stored as rows of RY pixels, not a channel vector lane by lane.
    const bool transpose = chan && kn.transpose == 1;
    Func tr("tr");
    if (transpose) tr(yv, xv, xp, yp, b) = prod(xv, yv, xp, yp, b);
    Expr result = transpose ? tr(lane_y, px % RX, px / RX, tile_y, b) : prod(px % RX, lane_y, px / RX, tile_y, b);
    if (options.epilogue) result = options.epilogue(result, x, y, b);
    if (options.inject_wrong_result)
      result = Halide::select(x == 0 && y == 0 && b == 0, result + 1.f, result);
    out(x, y, b) = result;

    // --- schedule ---
    Var xo("xo"), xi("xi"), yo("yo"), yi("yi"), f1("f1"), f2("f2");
    // Partial edge tiles shift inwards (recomputing a few outputs) whenever a tile fits in the
    // output: Halide 14 drops the GuardWithIf of such tiles in some loop nests (conv with
    // clamped im2col reads) and writes past the output. GuardWithIf remains only for outputs
    // narrower than one tile.
    auto tail = [](int64_t extent, int tile) {
      return extent >= tile ? TailStrategy::ShiftInwards : TailStrategy::GuardWithIf;
    };
    out.split(vx, xo, xi, TX, tail(c.nx, TX)).split(vy, yo, yi, TY, tail(c.ny, TY));
    Var inner = kn.order == 0 ? xo : yo, outer = kn.order == 0 ? yo : xo;
    if (transpose) {
      // One register tile per iteration: its RX channels unrolled, its RY pixels (one block of
      // an output row on the grid) a vector. tr's load from prod is a dense load and a shuffle.
      Var row("row"), col("col"), yb("yb"), yl("yl"), xb("xb"), xl("xl");
      std::vector<Halide::VarOrRVar> loops = {yl, xl, yb};
      if (nb > 0) {
        out.split(yi, row, col, OW).split(col, yb, yl, RY, TailStrategy::GuardWithIf);
        loops.push_back(row);
      } else {
        out.split(yi, yb, yl, RY, TailStrategy::GuardWithIf);
      }
      out.split(xi, xb, xl, RX, TailStrategy::GuardWithIf);
      loops.insert(loops.end(), {xb, inner, outer, b});
      out.reorder(loops).vectorize(yl).unroll(xl);
      // On the grid, the bounds of a block within its row are not provable: tr is a whole row.
      tr.compute_at(out, nb > 0 ? row : yb).bound(yv, 0, RY).bound(xv, 0, RX).vectorize(yv).vectorize(xv);
    } else {
      out.reorder(xi, yi, inner, outer, b);
      out.vectorize(xi, vec, tail(c.nx, TX));
    }
    Var site = inner, outer_site = outer;
    if (kn.par == 0) {
      out.parallel(c.nb > 1 ? b : outer);
    } else if (kn.par == 1) {
      out.fuse(outer, b, f1).parallel(f1);
      outer_site = f1;
    } else {
      out.fuse(inner, outer, f1).fuse(f1, b, f2).parallel(f2);
      site = f2;
      outer_site = f2;
    }

    prod.bound(xv, 0, RX).bound(yv, 0, RY);
    prod.compute_at(out, site);
    Var xvo("xvo"), xvi("xvi");
    prod.split(xv, xvo, xvi, vec).vectorize(xvi).unroll(xvo).unroll(yv);
    auto u = prod.update();
    u.split(xv, xvo, xvi, vec).vectorize(xvi).unroll(xvo).unroll(yv);
    RVar ro("ro"), ri("ri"), rio("rio"), rii("rii");
    RVar rin = r.x;
    if (kn.kc > 0) {
      u.split(r.x, ro, ri, kn.kc);
      rin = ri;
    }
    std::vector<Halide::VarOrRVar> order = {xvi, xvo, yv};
    if (kn.unroll_r > 1) {
      u.split(rin, rio, rii, kn.unroll_r).unroll(rii);
      order.push_back(rii);
      rin = rio;
    }
    order.push_back(rin);
    if (kn.inner == 0) {
      order.push_back(yp);
      order.push_back(xp);
    } else {
      order.push_back(xp);
      order.push_back(yp);
    }
    if (kn.kc > 0) order.push_back(ro);
    order.push_back(b);
    u.reorder(order);

    if (kn.pack_b > 0) {
      Bp.bound(xv, 0, RX);
      if (kn.pack_b == 1) {
        Bp.compute_root().fuse(xp, b, f1).parallel(f1);
      } else {
        Bp.compute_at(out, outer_site);
      }
      Bp.vectorize(xv, vec);
    }
    if (kn.pack_a > 0) {
      Ap.bound(yv, 0, RY);
      if (kn.pack_a == 1) {
        Ap.compute_root().fuse(yp, b, f1).parallel(f1);
      } else {
        Ap.compute_at(out, outer_site);
      }
    }

    Constrain(out.output_buffer(), f.out_view);
    f.out = out;
  } catch (const Halide::Error& e) {
    return Error(ErrorCode::kFailed, "halide build failed: {}", HalideErrorLine(e.what()));
  }
  return f;
}


}  // namespace opal::tune
