#include "lower/lower_resize.h"

#include <algorithm>
#include <cmath>

namespace opal::lower {

using Halide::Expr;

const std::vector<std::string>& ResizeOps() {
  static const std::vector<std::string> ops = {"Resize", "Upsample"};
  return ops;
}

namespace {

// A nearest axis whose indices are exactly i / k (upsampling by an integer) or i * k + c
// (downsampling by one): that expression instead of a table, so loads stay regular.
Expr RegularIndex(const ResizeAxisTaps& a, int64_t in, const Halide::Var& v) {
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
  const ResizeInputs in_at = ResizeInputsOf(n.op_type, b.opset());
  const Tensor* consts[3] = {nullptr, nullptr, nullptr};
  const int index[3] = {in_at.roi, in_at.scales, in_at.sizes};
  for (int k = 0; k < 3; ++k) {
    if (index[k] < 0 || !b.HasInput(static_cast<size_t>(index[k]))) continue;
    consts[k] = b.Constant(static_cast<size_t>(index[k]));
    if (!consts[k]) return b.Unsupported(std::string(k == 0 ? "roi" : k == 1 ? "scales" : "sizes") + " not constant");
    if (consts[k]->size() == 0) consts[k] = nullptr;
  }
  Result<ResizeGeometry> resolved = ResolveResize(n.op_type, b.opset(), b.attrs(), is, consts[0], consts[1], consts[2]);
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
  // Per axis, its taps: the index read and its weight (undefined: weight 1).
  std::vector<std::vector<Expr>> idx(static_cast<size_t>(r)), wt(static_cast<size_t>(r));
  Expr inside;
  const Halide::Type ft = dt == DType::kFloat64 ? Halide::Float(64) : Halide::Float(32);
  for (int d = 0; d < r; ++d) {
    const size_t du = static_cast<size_t>(d);
    const ResizeAxisTaps a = ResizeAxis(geo, du, is[du]);
    if (a.identity) {
      idx[du] = {v[du]};
      wt[du] = {Expr()};
      continue;
    }
    Expr e = a.taps == 1 && m.transform != "tf_crop_and_resize" ? RegularIndex(a, is[du], v[du]) : Expr();
    if (e.defined()) {
      idx[du] = {e};
      wt[du] = {Expr()};
      continue;
    }
    // The axis's table, computed once per call (in double precision, IEEE-strict: the same
    // arithmetic as ResizeAxis) into a buffer of the output's length: per tap, the index read and
    // its weight, then whether the point lies inside the input.
    Halide::Var i("i");
    const std::vector<Expr> row =
        AxisTableExprs(m, i, is[du], os[du], geo.scale[du], geo.roi_start[du], geo.roi_end[du]);
    Halide::Func table("resize_axis" + std::to_string(d));
    table(i) = Halide::Tuple(row);
    table.compute_root().bound(i, 0, static_cast<int>(os[du]));
    Expr at = ClampIndex(v[du], os[du]);
    for (int t = 0; t < a.taps; ++t) {
      idx[du].push_back(ClampIndex(table(at)[static_cast<size_t>(t)], is[du]));
      wt[du].push_back(a.taps == 1 ? Expr() : Halide::cast(ft, table(at)[static_cast<size_t>(a.taps + t)]));
    }
    if (m.transform == "tf_crop_and_resize") {
      Expr here = table(at)[static_cast<size_t>(2 * a.taps)] != 0;
      inside = inside.defined() ? (inside && here) : here;
    }
  }
  // The sum over every combination of the axes' taps of the product of their weights times the
  // input there (one term per combination; nearest has one).
  Expr sum;
  std::vector<size_t> pick(static_cast<size_t>(r), 0);
  for (;;) {
    std::vector<Expr> at_idx(static_cast<size_t>(r));
    Expr w;
    for (size_t d = 0; d < pick.size(); ++d) {
      at_idx[d] = idx[d][pick[d]];
      if (wt[d][pick[d]].defined()) w = w.defined() ? w * wt[d][pick[d]] : wt[d][pick[d]];
    }
    Expr term = x(at_idx);
    if (w.defined()) term = Halide::cast(ft, term) * w;
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
