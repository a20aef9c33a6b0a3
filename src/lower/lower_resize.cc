#include "lower/lower_resize.h"

#include <algorithm>
#include <cmath>
#include <functional>

namespace opal::lower {

using Halide::Expr;

const std::vector<std::string>& ResizeOps() {
  static const std::vector<std::string> ops = {"Resize", "Upsample"};
  return ops;
}

namespace {

// A nearest axis whose indices are exactly i / k (upsampling by an integer) or i * k + c
// (downsampling by one): that expression instead of a table, so loads stay regular.
Expr RegularIndex(const ResizeAxisTaps& a, int64_t in, const Expr& v) {
  const int64_t out = static_cast<int64_t>(a.idx.size());
  if (out >= 2 && out % in == 0) {
    const int64_t k = out / in;
    bool ok = true;
    for (int64_t i = 0; ok && i < out; ++i) ok = a.idx[static_cast<size_t>(i)] == i / k;
    if (ok) return v / static_cast<int>(k);
  }
  if (out >= 2) {
    const int64_t c = a.idx[0], k = a.idx[1] - a.idx[0];
    bool ok = k >= 1;
    for (int64_t i = 0; ok && i < out; ++i) ok = a.idx[static_cast<size_t>(i)] == i * k + c;
    if (ok) return v * static_cast<int>(k) + static_cast<int>(c);
  }
  return Expr();
}

// ResizeAxis's arithmetic as Halide expressions of output index `i`: per tap the clamped input
// index (Int(32)), then per tap its weight (Float(32)), then 1 where the point is inside the input
// (UInt(8)). IEEE-strict doubles, so that they agree with ResizeAxis.
std::vector<Expr> AxisTableExprs(const ResizeMode& m, const Halide::Var& i, int64_t in, int64_t out, double s,
                                 double rs, double re) {
  using Halide::cast;
  auto D = [](double v) { return Expr(v); };  // a Float(64) constant
  const Expr xo = cast<double>(i), S = D(s), IN = D(static_cast<double>(in));
  const std::string& tr = m.transform;
  Expr x;
  if (tr == "half_pixel") {
    x = (xo + D(0.5)) / S - D(0.5);
  } else if (tr == "half_pixel_symmetric") {
    const double adjustment = static_cast<double>(out) / (s * static_cast<double>(in));
    x = Expr(static_cast<double>(in) / 2 * (1 - adjustment)) + (xo + D(0.5)) / S - D(0.5);
  } else if (tr == "pytorch_half_pixel") {
    x = out > 1 ? (xo + D(0.5)) / S - D(0.5) : D(0);
  } else if (tr == "align_corners") {
    x = out == 1 ? D(0) : xo * Expr(static_cast<double>(in - 1)) / Expr(s * static_cast<double>(in) - 1);
  } else if (tr == "asymmetric") {
    x = xo / S;
  } else if (tr == "tf_half_pixel_for_nn") {
    x = (xo + D(0.5)) / S;
  } else {
    const double span = static_cast<double>(in - 1);
    x = out > 1 ? Expr(rs * span) + xo * Expr((re - rs) * span) / Expr(static_cast<double>(out - 1))
                : Expr(0.5 * (rs + re) * span);
  }
  const Expr x0 = Halide::floor(x), t = x - x0, base = cast<int>(x0);
  std::vector<Expr> at, w;
  if (m.mode == "nearest") {
    Expr n;
    if (m.nearest == "round_prefer_ceil") n = Halide::floor(x + D(0.5));
    else if (m.nearest == "floor") n = Halide::floor(x);
    else if (m.nearest == "ceil") n = Halide::ceil(x);
    else if (m.nearest == "simple") n = s < 1 ? Halide::ceil(x) : Halide::floor(x);
    else n = Halide::ceil(x - D(0.5));
    at = {cast<int>(n)};
    w = {D(1)};
  } else if (m.mode == "linear") {
    at = {base, base + 1};
    w = {D(1) - t, t};
  } else {
    const double A = m.cubic_a;
    auto near = [A, D](Expr dd) { return ((D(A + 2) * dd - D(A + 3)) * dd) * dd + D(1); };
    auto far = [A, D](Expr dd) { return ((D(A) * dd - D(5 * A)) * dd + D(8 * A)) * dd - D(4 * A); };
    at = {base - 1, base, base + 1, base + 2};
    w = {far(t + D(1)), near(t), near(D(1) - t), far(D(2) - t)};
    if (m.exclude_outside) {
      Expr sum = D(0);
      for (size_t k = 0; k < 4; ++k) {
        w[k] = Halide::select(at[k] < 0 || at[k] >= static_cast<int>(in), D(0), w[k]);
        sum = sum + w[k];
      }
      for (Expr& wk : w) wk = Halide::select(sum != D(0), wk / sum, D(0));
    }
  }
  std::vector<Expr> row;
  for (const Expr& e : at) row.push_back(Halide::clamp(e, 0, static_cast<int>(in - 1)));
  for (const Expr& e : w) row.push_back(Halide::strict_float(cast<float>(e)));
  row.push_back(cast<uint8_t>(x >= D(0) && x <= IN - D(1)));
  return row;
}

}  // namespace

Result<KernelDef> LowerResize(KernelBuilder& b) {
  b.set_kind("resize");
  const Node& n = b.node();
  const Shape& is = b.InShape(0);
  const int r = static_cast<int>(is.size());
  Result<ResizeGeometry> resolved =
      ResolveResizeNode(n, b.opset(), is, [&](size_t i) { return b.Constant(i); });
  if (!resolved.ok()) return Error(resolved.status().code(), "{}: {}", n.Describe(), resolved.status().message());
  const ResizeGeometry& geo = *resolved;
  const ResizeMode& m = geo.mode;
  const Shape& os = geo.out;
  if (geo.out != b.OutShape(0)) return b.Unsupported("an output shape unlike the one inferred");
  const DType dt = b.OutValue(0).dtype;
  if (m.mode != "nearest" && dt != DType::kFloat32 && dt != DType::kFloat64)
    return b.Unsupported(m.mode + " interpolation of " + std::string(DTypeName(dt)));
  OPAL_ASSIGN_OR_RETURN(TensorRef x, b.Input(0));
  const std::vector<Halide::Var> v = MakeVars(r);
  const Halide::Type ft = dt == DType::kFloat64 ? Halide::Float(64) : Halide::Float(32);
  // How each axis is read: as it is, by a regular expression of the output index, or through its
  // table, computed once per call (in double precision, IEEE-strict: the arithmetic of
  // ResizeAxis) into a buffer of the output's length: per tap the index read and its weight, then
  // whether the point lies inside the input.
  enum class Kind { kIdentity, kRegular, kTable };
  std::vector<Kind> kind(static_cast<size_t>(r));
  std::vector<ResizeAxisTaps> taps;
  std::vector<Halide::Func> tables(static_cast<size_t>(r));
  for (int d = 0; d < r; ++d) {
    const size_t du = static_cast<size_t>(d);
    taps.push_back(ResizeAxis(geo, du, is[du]));
    const ResizeAxisTaps& a = taps.back();
    kind[du] = a.identity ? Kind::kIdentity
               : a.taps == 1 && m.transform != "tf_crop_and_resize" && RegularIndex(a, is[du], v[du]).defined()
                   ? Kind::kRegular
                   : Kind::kTable;
    if (kind[du] != Kind::kTable) continue;
    Halide::Var i("i");
    tables[du] = Halide::Func("resize_axis" + std::to_string(d));
    tables[du](i) = Halide::Tuple(AxisTableExprs(m, i, is[du], os[du], geo.scale[du], geo.roi_start[du], geo.roi_end[du]));
    tables[du].compute_root().bound(i, 0, static_cast<int>(os[du]));
  }
  // Axis d's taps at output index `at` (a Var of the output or of the rows stage): the indices
  // read and their weights (undefined: weight 1).
  auto read = [&](size_t d, const Halide::Var& at, std::vector<Expr>* idx, std::vector<Expr>* wt) {
    idx->clear();
    wt->clear();
    if (kind[d] != Kind::kTable) {
      idx->push_back(kind[d] == Kind::kIdentity ? Expr(at) : RegularIndex(taps[d], is[d], at));
      wt->push_back(Expr());
      return;
    }
    const Expr i = ClampIndex(at, os[d]);
    for (int t = 0; t < taps[d].taps; ++t) {
      idx->push_back(ClampIndex(tables[d](i)[static_cast<size_t>(t)], is[d]));
      wt->push_back(taps[d].taps == 1 ? Expr() : Halide::cast(ft, tables[d](i)[static_cast<size_t>(taps[d].taps + t)]));
    }
  };
  // With a table on the innermost axis and another axis resized, the innermost axis is
  // interpolated first, once per input row (`rows`: the last axis at output length, the others
  // at input length), so that the output's vectors read rows with dense loads instead of gathering
  // every tap of every lane from the input.
  const size_t last = static_cast<size_t>(r - 1);
  bool separable = r >= 2 && kind[last] == Kind::kTable;
  bool others = false;
  for (size_t d = 0; d < last; ++d) others = others || kind[d] != Kind::kIdentity;
  separable = separable && others && (dt == DType::kFloat32 || dt == DType::kFloat64);  // rows hold ft
  std::function<Expr(const std::vector<Expr>&)> source = [&](const std::vector<Expr>& at) { return Halide::cast(ft, x(at)); };
  Halide::Func rows("resize_rows");
  if (separable) {
    const std::vector<Halide::Var> rv = MakeVars(r);
    std::vector<Expr> li, lw, at = AsExprs(rv);
    read(last, rv[last], &li, &lw);
    Expr acc;
    for (size_t t = 0; t < li.size(); ++t) {
      at[last] = li[t];
      Expr term = Halide::cast(ft, x(at));
      if (lw[t].defined()) term = term * lw[t];
      acc = acc.defined() ? acc + term : term;
    }
    rows(HalideArgs(rv)) = acc;
    // Rows vectorised along the output's innermost axis, parallel over the rest.
    const std::vector<Halide::Var> hv = HalideArgs(rv);
    int lanes = b.options().vector_lanes;
    while (lanes > 4 && lanes > os[last]) lanes /= 2;
    rows.compute_root();
    if (os[last] >= lanes) rows.vectorize(hv[0], lanes, Halide::TailStrategy::GuardWithIf);
    Halide::Var fused = hv.back();
    for (size_t k = hv.size() - 1; k > 1; --k) {
      Halide::Var f("rows_f" + std::to_string(k));
      rows.fuse(hv[k - 1], fused, f);
      fused = f;
    }
    rows.parallel(fused);
    source = [&](const std::vector<Expr>& at) { return rows(HalideArgs(at)); };
  }
  // Per axis its taps at the output index (the innermost axis read as it is from `rows` when
  // separable), then the sum over every combination of the axes' taps of the product of their
  // weights times the source there (one term per combination; nearest has one).
  std::vector<std::vector<Expr>> idx(static_cast<size_t>(r)), wt(static_cast<size_t>(r));
  Expr inside;
  for (size_t d = 0; d < static_cast<size_t>(r); ++d) {
    if (separable && d == last) {
      idx[d] = {Expr(v[d])};
      wt[d] = {Expr()};
    } else {
      read(d, v[d], &idx[d], &wt[d]);
    }
    if (m.transform == "tf_crop_and_resize" && kind[d] == Kind::kTable) {
      Expr here = tables[d](ClampIndex(v[d], os[d]))[static_cast<size_t>(2 * taps[d].taps)] != 0;
      inside = inside.defined() ? (inside && here) : here;
    }
  }
  Expr sum;
  std::vector<size_t> pick(static_cast<size_t>(r), 0);
  for (;;) {
    std::vector<Expr> at_idx(static_cast<size_t>(r));
    Expr w;
    for (size_t d = 0; d < pick.size(); ++d) {
      at_idx[d] = idx[d][pick[d]];
      if (wt[d][pick[d]].defined()) w = w.defined() ? w * wt[d][pick[d]] : wt[d][pick[d]];
    }
    Expr term = w.defined() || separable ? source(at_idx) : x(at_idx);
    if (w.defined()) term = term * w;
    sum = sum.defined() ? sum + term : term;
    size_t d = pick.size();
    while (d > 0 && ++pick[d - 1] == idx[d - 1].size()) pick[--d] = 0;
    if (d == 0) break;
  }
  Expr value = Halide::cast(x.type, sum);
  if (inside.defined())
    value = Halide::select(inside, value, Halide::cast(x.type, Expr(m.extrapolation)));
  Halide::Func out("resize");
  out(HalideArgs(v)) = value;
  b.SetOutput(0, out);
  return b.Finish();
}

}  // namespace opal::lower
