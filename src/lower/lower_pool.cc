#include "lower/lower_pool.h"

#include <cmath>

#include "lower/lower_planes.h"

namespace opal::lower {
namespace {

using Halide::Expr;
using Halide::Func;
using Halide::RDom;
using Halide::select;

Expr K(const Halide::Type& t, double v) { return Halide::cast(t, Expr(v)); }

// The window of one spatial dim.
struct Window {
  int64_t in = 0, out = 0, kernel = 1, stride = 1, dilation = 1, pad_begin = 0, pad_end = 0;
};

Result<std::vector<Window>> Windows(KernelBuilder& b, const Shape& in, const Shape& out) {
  const int k = static_cast<int>(in.size()) - 2;
  const std::string& op = b.node().op_type;
  std::vector<Window> w(k);
  if (op.rfind("Global", 0) == 0) {
    for (int j = 0; j < k; ++j) w[j] = {in[j + 2], out[j + 2], in[j + 2], 1, 1, 0, 0};
    return w;
  }
  const auto ks = b.attrs().GetInts("kernel_shape");
  const auto strides = b.attrs().GetInts("strides", std::vector<int64_t>(k, 1));
  const auto dil = b.attrs().GetInts("dilations", std::vector<int64_t>(k, 1));
  const auto pads = b.attrs().GetInts("pads", std::vector<int64_t>(2 * k, 0));
  if (static_cast<int>(ks.size()) != k || static_cast<int>(strides.size()) != k ||
      static_cast<int>(dil.size()) != k || static_cast<int>(pads.size()) != 2 * k) {
    return Error(ErrorCode::kInvalidModel,
                 "{}: kernel_shape/strides/dilations/pads do not fit "
                 "{} spatial dims",
                 b.node().Describe(), k);
  }
  const std::string auto_pad = b.attrs().GetString("auto_pad", "NOTSET");
  for (int j = 0; j < k; ++j) {
    Window& x = w[j];
    x = {in[j + 2], out[j + 2], ks[j], strides[j], dil[j], pads[j], pads[j + k]};
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      const int64_t total =
          std::max<int64_t>(0, (x.out - 1) * x.stride + (x.kernel - 1) * x.dilation + 1 - x.in);
      x.pad_begin = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      x.pad_end = total - x.pad_begin;
    } else if (auto_pad == "VALID") {
      x.pad_begin = x.pad_end = 0;
    }
  }
  return w;
}

// MaxPool / AveragePool over a small window, every window position a term of one expression:
// one vectorised expression per output instead of a reduction loop per output point (2.5x on
// ResNet's 3x3 stride-2 MaxPool).
// With `padded` (PaddedInput: the input shifted by the leading pads, the pad value around it),
// every term is a plain shifted read of it: no clamped index and no select per term.
Expr SmallWindow(KernelBuilder& b, const TensorRef& x, const std::vector<Window>& w,
                 const std::vector<Halide::Var>& vars, const Func* padded = nullptr) {
  const int k = static_cast<int>(w.size());
  const auto t = x.type;
  const bool is_max = b.node().op_type == "MaxPool";
  const bool include_pad = b.attrs().GetInt("count_include_pad", 0) != 0;
  std::vector<int64_t> at(k, 0);
  Expr acc, count;
  while (true) {
    std::vector<Expr> idx = {vars[0], vars[1]};
    Expr valid = Halide::Internal::const_true(), inside_pads = Halide::Internal::const_true();
    for (int j = 0; j < k; ++j) {
      const Window& d = w[j];
      const Expr i = vars[j + 2] * static_cast<int>(d.stride) +
                     static_cast<int>(at[j] * d.dilation - d.pad_begin);
      valid = valid && i >= 0 && i < static_cast<int>(d.in);
      inside_pads = inside_pads && i >= static_cast<int>(-d.pad_begin) &&
                    i < static_cast<int>(d.in + d.pad_end);
      // likely(): loops are split where every index is inside, and load there without clamps.
      idx.push_back(
          Halide::clamp(Halide::likely(i), 0, static_cast<int>(std::max<int64_t>(d.in - 1, 0))));
    }
    Expr term;
    if (padded) {
      std::vector<Expr> at_padded = {vars[0], vars[1]};
      for (int j = 0; j < k; ++j)
        at_padded.push_back(vars[j + 2] * static_cast<int>(w[j].stride) +
                            static_cast<int>(at[j] * w[j].dilation));
      term = (*padded)(HalideArgs(at_padded));
    } else {
      term = select(Halide::likely(valid), x(idx), is_max ? LowestOf(t) : K(t, 0));
    }
    const Expr one = select(include_pad ? inside_pads : valid, K(t, 1), K(t, 0));
    acc = acc.defined() ? (is_max ? Halide::max(acc, term) : acc + term) : term;
    count = count.defined() ? count + one : one;
    int j = k - 1;
    while (j >= 0 && ++at[j] == w[j].kernel) at[j--] = 0;
    if (j < 0) break;
  }
  return is_max ? acc : acc / count;
}

// The input of a padded pool with its padding materialised, once for the whole tensor: `fill`
// everywhere (the pure definition), then the input copied in at an offset of the leading pads
// (one update, its rows vectorised, parallel over planes). A window on a plane narrower than two
// vectors (GoogLeNet's 3x3 stride-1 MaxPools on 28- and 14-wide planes) otherwise has every
// vector straddle the border, where each term is a clamped gather and a select: 2-3x slower than
// onnxruntime's, AMD EPYC.
Func PaddedInput(const TensorRef& x, const std::vector<Window>& w, Expr fill, int lanes) {
  const int rank = x.rank(), k = rank - 2;
  const auto vars = MakeVars(rank);
  Func padded("pool_padded");
  padded(HalideArgs(vars)) = fill;
  std::vector<Halide::Range> ranges;  // Halide order: innermost dim first
  for (int d = rank - 1; d >= 0; --d) ranges.emplace_back(0, static_cast<int>(x.shape[d]));
  RDom r(ranges, "copy");
  std::vector<Expr> src, dst;
  for (int d = 0; d < rank; ++d) {
    const Expr i = r[rank - 1 - d];
    src.push_back(i);
    dst.push_back(d >= 2 ? i + static_cast<int>(w[d - 2].pad_begin) : i);
  }
  padded(HalideArgs(dst)) = x(src);
  // Schedule: compute_root; the fill and the copy vectorised along rows, parallel over the
  // outermost non-spatial dims fused (distinct planes: no race).
  padded.compute_root();
  const std::vector<Halide::Var> hv = HalideArgs(vars);
  const int64_t row = x.shape[rank - 1] + w[k - 1].pad_begin + w[k - 1].pad_end;
  if (row >= lanes) padded.vectorize(hv[0], lanes, Halide::TailStrategy::GuardWithIf);
  Halide::Var planes("planes");
  padded.fuse(hv[rank - 2], hv[rank - 1], planes).parallel(planes);
  Halide::RVar rplanes("rplanes");
  Halide::Stage copy = padded.update();
  copy.allow_race_conditions().fuse(r[rank - 2], r[rank - 1], rplanes).parallel(rplanes);
  if (x.shape[rank - 1] >= lanes) copy.vectorize(r[0], lanes, Halide::TailStrategy::GuardWithIf);
  return padded;
}

// LRN: x / (bias + alpha/size * sum of x^2 over a window of channels)^beta.
Result<KernelDef> Lrn(KernelBuilder& b) {
  OPAL_ASSIGN_OR_RETURN(TensorRef x, b.Input(0));
  if (x.rank() < 3) return b.Unsupported("LRN of rank < 3");
  const int64_t size = b.attrs().GetInt("size", 1);
  const auto t = x.type;
  const auto vars = MakeVars(x.rank());
  const auto idx = AsExprs(vars);
  RDom r(0, static_cast<int>(size), "r");
  const Expr c = vars[1] - static_cast<int>((size - 1) / 2) + r;
  std::vector<Expr> in = idx;
  in[1] = ClampIndex(c, x.shape[1]);
  const Expr v = x(in);
  const Expr sq = Halide::sum(select(c >= 0 && c < static_cast<int>(x.shape[1]), v * v, K(t, 0)));
  const Expr alpha = K(t, b.attrs().GetFloat("alpha", 1e-4) / static_cast<double>(size));
  const Expr base = K(t, b.attrs().GetFloat("bias", 1.0)) + alpha * sq;
  Func out("out");
  out(HalideArgs(vars)) = x(idx) / Halide::pow(base, K(t, b.attrs().GetFloat("beta", 0.75)));
  b.SetOutput(0, out);
  return b.Finish();
}

}  // namespace

const std::vector<std::string>& PoolOps() {
  static const std::vector<std::string> ops = {
      "MaxPool",       "AveragePool",  "LpPool", "GlobalAveragePool",
      "GlobalMaxPool", "GlobalLpPool", "LRN"};
  return ops;
}

Result<KernelDef> LowerPool(KernelBuilder& b) {
  b.set_kind("pool");
  const std::string& op = b.node().op_type;
  if (op == "LRN") return Lrn(b);
  if ((op == "GlobalAveragePool" || op == "GlobalMaxPool") && b.InShape(0).size() >= 3 &&
      PlaneReductionSupports(b.InValue(0).dtype)) {
    const Shape& in = b.InShape(0);
    int64_t plane = 1;
    for (size_t j = 2; j < in.size(); ++j) plane *= in[j];
    const bool max = op == "GlobalMaxPool";
    return LowerPlaneReduction(b, in[0] * in[1], plane, max ? PlaneOp::kMax : PlaneOp::kSum,
                               max ? 1.0 : 1.0 / static_cast<double>(plane));
  }
  if (op == "MaxPool" && b.HasOutput(1)) return b.Unsupported("MaxPool's Indices output");
  OPAL_ASSIGN_OR_RETURN(TensorRef x, b.Input(0));
  if (x.rank() < 3) return b.Unsupported(fmt::format("{} of rank {}", op, x.rank()));
  const Shape& out_shape = b.OutShape(0);
  OPAL_ASSIGN_OR_RETURN(std::vector<Window> w, Windows(b, x.shape, out_shape));
  const int k = x.rank() - 2;

  const auto vars = MakeVars(x.rank());
  const auto t = x.type;
  int64_t window = 1;
  for (const Window& d : w) window *= d.kernel;
  // Small windows (3x3, 2x2, ...) are written out term by term: one vectorised expression per
  // output instead of a reduction loop per output point.
  if (window <= 32 && (op == "MaxPool" || op == "AveragePool")) {
    bool pads = false;
    for (const Window& d : w) pads = pads || d.pad_begin > 0 || d.pad_end > 0;
    Func out("out"), padded;
    if (pads)
      padded = PaddedInput(x, w, op == "MaxPool" ? LowestOf(t) : K(t, 0), b.options().vector_lanes);
    out(HalideArgs(vars)) = SmallWindow(b, x, w, vars, padded.defined() ? &padded : nullptr);
    b.SetOutput(0, out);
    return b.Finish();
  }
  std::vector<Halide::Range> ranges;
  for (int j = k - 1; j >= 0; --j) ranges.emplace_back(0, static_cast<int>(w[j].kernel));
  RDom r(ranges, "r");
  std::vector<Expr> idx = {vars[0], vars[1]};
  Expr valid = Halide::Internal::const_true(), inside_pads = Halide::Internal::const_true();
  for (int j = 0; j < k; ++j) {
    const Window& d = w[j];
    const Expr i = vars[j + 2] * static_cast<int>(d.stride) +
                   r[k - 1 - j] * static_cast<int>(d.dilation) - static_cast<int>(d.pad_begin);
    valid = valid && i >= 0 && i < static_cast<int>(d.in);
    inside_pads = inside_pads && i >= static_cast<int>(-d.pad_begin) &&
                  i < static_cast<int>(d.in + d.pad_end);
    idx.push_back(ClampIndex(i, d.in));
  }
  const Expr v = x(idx);
  Expr e;
  if (op == "MaxPool" || op == "GlobalMaxPool") {
    e = Halide::maximum(select(valid, v, LowestOf(t)));
  } else if (op == "AveragePool" || op == "GlobalAveragePool") {
    const bool include_pad = b.attrs().GetInt("count_include_pad", 0) != 0;
    const Expr n = Halide::sum(select(include_pad ? inside_pads : valid, K(t, 1), K(t, 0)));
    e = Halide::sum(select(valid, v, K(t, 0))) / n;
  } else {
    const double p = static_cast<double>(b.attrs().GetInt("p", 2));
    if (p == 2) {
      e = Halide::sqrt(Halide::sum(select(valid, v * v, K(t, 0))));
    } else {
      e = Halide::pow(Halide::sum(select(valid, Halide::pow(Halide::abs(v), K(t, p)), K(t, 0))),
                      K(t, 1.0 / p));
    }
  }
  Func out("out");
  out(HalideArgs(vars)) = e;
  b.SetOutput(0, out);
  return b.Finish();
}

}  // namespace opal::lower
