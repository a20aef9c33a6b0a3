#include "lower/lower_depthwise.h"

#include <algorithm>

#include "lower/lower_epilogue.h"
#include "tune/contraction.h"

namespace opal::lower {

using Halide::Expr;
using Halide::Var;

Result<KernelDef> LowerDepthwiseConv(const Graph& g, const Node& n, const Workload& w, const LowerOptions& o) {
  const int C = static_cast<int>(w.Get("c")), H = static_cast<int>(w.Get("h")), W = static_cast<int>(w.Get("w"));
  const int N = static_cast<int>(w.Get("n")), KH = static_cast<int>(w.Get("kh")), KW = static_cast<int>(w.Get("kw"));
  const int OH = static_cast<int>(tune::ConvOutH(w)), OW = static_cast<int>(tune::ConvOutW(w));
  const int sh = static_cast<int>(w.Get("stride_h")), sw = static_cast<int>(w.Get("stride_w"));
  const int dh = static_cast<int>(w.Get("dilation_h")), dw = static_cast<int>(w.Get("dilation_w"));
  const int pt = static_cast<int>(w.Get("pad_top")), pl = static_cast<int>(w.Get("pad_left"));
  const Shape& out_shape = g.value(n.outputs[0]).shape;
  if (out_shape.size() != 4) return Error(ErrorCode::kUnsupported, "{}: depthwise kernel needs a 2-D conv", n.Describe());

  KernelDef def;
  def.kind = "depthwise";
  const ArgView in_view = DenseView({N, C, H, W}), w_view = DenseView({C, KH, KW});
  Halide::ImageParam in(Halide::Float(32), 4, "input"), wt(Halide::Float(32), 3, "weights");
  ConstrainView(in, in_view);
  ConstrainView(wt, w_view);
  def.inputs = {in, wt};
  def.input_values = {n.inputs[0], n.inputs[1]};
  def.input_views = {in_view, w_view};

  Var x("x"), y("y"), c("c"), b("b");
  // The channel plane with its zero border: padded(px, py) = input(px - pl, py - pt).
  const int PW = (OW - 1) * sw + (KW - 1) * dw + 1, PH = (OH - 1) * sh + (KH - 1) * dh + 1;
  const int CW = std::min(W, PW - pl), CH = std::min(H, PH - pt);  // the input the outputs read
  // Planes narrower than a vector (stride 1): the outputs are computed on the padded plane's
  // grid, flattened, so that a vector holds pixels of several rows and every tap is one contiguous
  // load: grid(j) = sum of taps of plane(j + ky*PW + kx), output (x, y) = grid(y*PW + x), the
  // KW - 1 columns of each grid row past the output computed in vain. Row-vectorised, a 7-wide
  // plane ran 4-lane vectors (1152-channel 7x7 plane, 5x5 taps: ~3x the time of this).
  const int lanes = o.vector_lanes;
  const bool on_grid =
      sw == 1 && sh == 1 && dw == 1 && dh == 1 && 2 * OW <= lanes && OH * PW >= lanes && CW > 0 && CH > 0;
  // Which of two ways makes the plane: on 14- and 28-wide planes zeros plus a copy of the rows
  // (dense vector loads) beat one select-and-clamp definition (gathers) by 1.1-1.6x; on 56- and
  // 112-wide planes (and 7-wide) the select was 1.1-1.3x faster (a model of MobileNet's seven
  // depthwise shapes, `opal run --profile`, 3 alternating runs at 1 and 2 threads).
  const bool copy_rows = CW > 0 && CH > 0 && W >= 12 && W <= 32;
  // Stride 2 with 5x5 taps, or onto outputs at most half a vector wide: the same on the padded
  // plane split into its stride phases (phase (py, px) holds padded rows 2i+py and columns 2i+px,
  // GP columns a row): tap (ky, kx) of output (x, y) is phase (ky%2, kx%2) at (y + ky/2, x + kx/2),
  // so every tap is one contiguous load of a flattened phase, where the row path loads two
  // vectors and permutes them per tap (in 4-lane vectors on a 7-wide output). MnasNet's and
  // MobileNet-V2's stride-2 depthwise convs, 1 thread (AMD EPYC, `opal run --profile`, 2 runs):
  // 5x5 onto 28-, 14- and 7-wide outputs 1.25x, 1.45x, 1.5x faster; 3x3 onto 7 wide 1.3x; but
  // 3x3 onto 14 wide even and onto 56 wide 1.35x slower (the zeros and the copy of four phases
  // cost more than 9 taps save), so those stay on the row path.
  const int GP = OW + (KW - 1) / 2, GR = OH + (KH - 1) / 2, npy = std::min(2, KH), npx = std::min(2, KW);
  const int gplane = GR * GP;
  const bool on_phases =
      !on_grid && sh == 2 && sw == 2 && dh == 1 && dw == 1 && (2 * OW <= lanes || KH * KW > 9) && OH * GP >= lanes && CW > 0 && CH > 0;
  struct PhaseCopy {
    Halide::RDom r;
    int width;
  };
  std::vector<PhaseCopy> copies;
  Halide::Func padded("padded"), flat("plane"), grid("grid");
  Halide::RDom r(0, std::max(CW, 1), 0, std::max(CH, 1), "r");
  Var j("j");
  Expr acc = 0.f;
  if (on_grid) {
    // Zeros, then the input rows the outputs read copied in (contiguous loads and stores).
    flat(j, c, b) = 0.f;
    flat(r.x + pl + (r.y + pt) * PW, c, b) = in(r.x, r.y, c, b);
    Expr g = 0.f;
    for (int ky = 0; ky < KH; ++ky)
      for (int kx = 0; kx < KW; ++kx) g += flat(j + ky * PW + kx, c, b) * wt(kx, ky, c);
    grid(j, c, b) = g;
    acc = grid(y * PW + x, c, b);
  } else if (on_phases) {
    // Zeros, then each phase's rows and columns that hold input copied in: stride-2 reads of an
    // input row (dense loads and a permute), contiguous stores, no clamp.
    flat(j, c, b) = 0.f;
    for (int ph = 0; ph < npy * npx; ++ph) {
      const int py = ph / npx, px = ph % npx;
      const tune::PhaseSpan cols = tune::PhaseSpanOf(W, pl, px, 2, GP), rows = tune::PhaseSpanOf(H, pt, py, 2, GR);
      if (cols.size() <= 0 || rows.size() <= 0) continue;
      Halide::RDom rp(cols.first, cols.size(), rows.first, rows.size(), "phase");
      flat(ph * gplane + rp.y * GP + rp.x, c, b) = in(rp.x * 2 + px - pl, rp.y * 2 + py - pt, c, b);
      copies.push_back({rp, cols.size()});
    }
    Expr g = 0.f;
    for (int ky = 0; ky < KH; ++ky)
      for (int kx = 0; kx < KW; ++kx)
        g += flat(((ky % 2) * npx + kx % 2) * gplane + j + (ky / 2) * GP + kx / 2, c, b) * wt(kx, ky, c);
    grid(j, c, b) = g;
    acc = grid(y * GP + x, c, b);
  } else {
    if (copy_rows) {
      padded(x, y, c, b) = 0.f;
      padded(r.x + pl, r.y + pt, c, b) = in(r.x, r.y, c, b);
    } else {
      Expr ix = x - pl, iy = y - pt;
      Expr inside = ix >= 0 && ix < W && iy >= 0 && iy < H;
      padded(x, y, c, b) =
          Halide::select(inside, in(Halide::clamp(ix, 0, W - 1), Halide::clamp(iy, 0, H - 1), c, b), 0.f);
    }
    for (int ky = 0; ky < KH; ++ky)
      for (int kx = 0; kx < KW; ++kx) acc += padded(x * sw + kx * dw, y * sh + ky * dh, c, b) * wt(kx, ky, c);
  }

  const ArgView out_view = DenseView(out_shape);
  EpilogueSite site{[&](size_t axis) -> Expr {
                      switch (axis) {
                        case 0: return b;
                        case 1: return c;
                        case 2: return y;
                        default: return x;
                      }
                    },
                    out_view,
                    {x, y, c, b}};
  OPAL_ASSIGN_OR_RETURN(Expr value, ApplyEpilogue(g, n, acc, site, o.group, &def));
  Halide::Func out("depthwise");
  out(x, y, c, b) = value;

  // Schedule: channels (x images) in parallel; per channel the padded plane, then rows of output
  // pixels vectorised.
  Var f("f"), xo("xo"), xi("xi");
  int vec = o.vector_lanes;
  while (vec > 4 && vec > OW) vec /= 2;
  out.fuse(c, b, f).parallel(f);
  // A vector's taps are one chain of dependent FMAs (KH*KW of them): up to four vectors side by
  // side keep the FMA units busy instead of waiting on each chain's latency.
  Var xu("xu"), xv("xv");
  if (OW >= vec) {
    const int u = std::clamp(OW / vec, 1, 4);
    out.split(x, xo, xi, vec * u, Halide::TailStrategy::ShiftInwards).split(xi, xu, xv, vec).vectorize(xv).unroll(xu);
    // And up to four output rows at once: with 3x3 taps, the input rows they share are loaded
    // once (1.3-1.5x on 112- and 56-wide stride-1 planes, AMD EPYC); with 5x5 taps the 25 weights
    // already fill the registers (no gain, 1.2x slower at four rows).
    // Stride 1 only: on a 14-wide stride-2 plane this split made Halide 14 emit a kernel that
    // reads out of bounds (lowering_test's 14x14 stride-2 case crashed).
    if (OH >= 2 && KH * KW <= 9 && sh == 1) {
      Var yo("yo"), yi("yi");
      out.split(y, yo, yi, std::min(OH, 4), Halide::TailStrategy::ShiftInwards)
          .reorder(xv, xu, yi, xo, yo)
          .unroll(yi);
    }
  }
  if (on_grid || on_phases) {
    Var jo("jo"), ji("ji"), ju("ju"), jv("jv");
    const int pitch = on_grid ? PW : GP;
    const int u = std::clamp(OH * pitch / lanes, 1, 4);
    grid.compute_at(out, f).bound(j, 0, OH * pitch);
    grid.split(j, jo, ji, lanes * u, Halide::TailStrategy::ShiftInwards).split(ji, ju, jv, lanes).vectorize(jv).unroll(ju);
    const int flat_size = on_grid ? PH * PW + KW : npy * npx * gplane + KW;
    flat.compute_at(out, f).bound(j, 0, flat_size).vectorize(j, lanes, Halide::TailStrategy::GuardWithIf);
  }
  if (on_phases) {
    for (size_t i = 0; i < copies.size(); ++i) {
      int row = lanes;
      while (row > 4 && row > copies[i].width) row /= 2;
      // Distinct columns of a row land on distinct elements: no race, whatever Halide can prove.
      if (copies[i].width >= row)
        flat.update(static_cast<int>(i)).allow_race_conditions().vectorize(copies[i].r.x, row, Halide::TailStrategy::GuardWithIf);
    }
  } else if (on_grid) {
    int row = lanes;
    while (row > 4 && row > CW) row /= 2;
    // Distinct columns of a row land on distinct elements: no race, whatever Halide can prove.
    if (CW >= row) flat.update().allow_race_conditions().vectorize(r.x, row, Halide::TailStrategy::GuardWithIf);
  } else {
    padded.compute_at(out, f).bound(x, 0, PW).bound(y, 0, PH);
    if (PW >= vec) padded.vectorize(x, vec, Halide::TailStrategy::GuardWithIf);
    if (copy_rows && CW >= vec) padded.update().vectorize(r.x, vec, Halide::TailStrategy::GuardWithIf);
  }
  Halide::OutputImageParam ob = out.output_buffer();
  for (size_t i = 0; i < out_view.dims.size(); ++i)
    ob.dim(static_cast<int>(i))
        .set_bounds(0, static_cast<int>(out_view.dims[i].extent))
        .set_stride(static_cast<int>(out_view.dims[i].stride));
  def.outputs = {out};
  def.output_values = {o.group ? o.group->output : n.outputs[0]};
  def.output_views = {out_view};
  return def;
}

}  // namespace opal::lower
