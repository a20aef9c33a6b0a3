#include "lower/lower_shape.h"

#include <numeric>

namespace opal::lower {
namespace {

using Halide::Expr;
using Halide::Func;
using Halide::select;

// An index read from an int tensor: negative values count from the end, clamped into range.
Expr IndexFrom(const Expr& v, int64_t extent) {
  const Expr i = Halide::cast(Halide::Int(32), v);
  return ClampIndex(select(i < 0, i + static_cast<int>(extent), i), extent);
}

// Output i = f applied to output-order indices; schedules and registers it.
void Emit(KernelBuilder& b, size_t i, const std::vector<Halide::Var>& vars, const Expr& e,
          const char* name = "out") {
  Func out(name);
  out(HalideArgs(vars)) = e;
  b.SetOutput(i, out);
}

// The element at the same row-major position of a tensor of another shape (reshaping copies).
Expr SamePosition(const TensorRef& x, const std::vector<Halide::Var>& vars, const Shape& out) {
  Expr lin = 0;
  for (size_t d = 0; d < out.size(); ++d) lin = lin * static_cast<int>(out[d]) + vars[d];
  std::vector<Expr> idx(x.shape.size());
  for (int d = x.rank() - 1; d >= 0; --d) {
    idx[d] = lin % static_cast<int>(x.shape[d]);
    lin = lin / static_cast<int>(x.shape[d]);
  }
  return x(idx);
}

// Transpose. When the innermost dim moves, the output is computed in tiles of T x T elements over
// the output's innermost dim and the dim the input's innermost dim went to: each tile's input block
// is loaded with vector loads along the input's rows into a staging buffer, and the output tile is
// stored with vector stores from it (a transposition in cache instead of a gather from memory per
// output element). Tiles run in parallel.
Result<KernelDef> Transpose(KernelBuilder& b, const TensorRef& x, const std::vector<Halide::Var>& v) {
  const int r = x.rank();
  std::vector<int64_t> perm = b.attrs().GetInts("perm");
  if (perm.empty()) {
    for (int d = r - 1; d >= 0; --d) perm.push_back(d);
  }
  std::vector<Expr> in(r);
  for (int k = 0; k < r; ++k) in[perm[k]] = v[k];
  int q = -1;  // the output dim holding the input's innermost dim
  for (int k = 0; k < r; ++k)
    if (perm[k] == r - 1) q = k;
  const Shape& os = b.OutShape(0);
  const int lanes = b.options().vector_lanes;
  if (r < 2 || q == r - 1 || q < 0 || os[r - 1] < 4 || os[q] < 4) {
    Emit(b, 0, v, x(in));
    return b.Finish();
  }
  Func staged("staged"), out("out");
  std::vector<Halide::Var> sv = MakeVars(r);
  staged(HalideArgs(sv)) = x(AsExprs(sv));
  out(HalideArgs(v)) = staged(HalideArgs(in));
  b.SetOutputUnscheduled(0, out);
  const int tx = static_cast<int>(std::min<int64_t>(lanes, os[r - 1]));
  const int ty = static_cast<int>(std::min<int64_t>(lanes, os[q]));
  Halide::Var xo("xo"), xi("xi"), yo("yo"), yi("yi");
  out.split(v[r - 1], xo, xi, tx).split(v[q], yo, yi, ty);
  std::vector<Halide::VarOrRVar> order = {xi, yi, xo, yo};
  for (int k = r - 2; k >= 0; --k)
    if (k != q) order.push_back(v[k]);
  out.reorder(order).vectorize(xi);
  // The tiles of all outer dims, fused, in parallel.
  Halide::Var task = yo;
  for (int k = r - 2; k >= 0; --k) {
    if (k == q) continue;
    Halide::Var f(fmt::format("t{}", k));
    out.fuse(task, v[k], f);
    task = f;
  }
  if (NumElements(os) >= 32768) out.parallel(task);
  staged.compute_at(out, xo).vectorize(sv[r - 1], std::min(tx, ty));
  return b.Finish();
}

Result<KernelDef> Slice(KernelBuilder& b, const TensorRef& x, const std::vector<Halide::Var>& v) {
  std::vector<int64_t> starts, ends, axes, steps;
  if (b.opset() < 10) {
    starts = b.attrs().GetInts("starts");
    axes = b.attrs().GetInts("axes");
  } else {
    OPAL_ASSIGN_OR_RETURN(starts, b.ConstantInts(1, "Slice starts"));
    if (b.HasInput(3)) {
      OPAL_ASSIGN_OR_RETURN(axes, b.ConstantInts(3, "Slice axes"));
    }
    if (b.HasInput(4)) {
      OPAL_ASSIGN_OR_RETURN(steps, b.ConstantInts(4, "Slice steps"));
    }
  }
  if (axes.empty()) {
    axes.resize(starts.size());
    std::iota(axes.begin(), axes.end(), 0);
  }
  if (steps.empty()) steps.assign(starts.size(), 1);
  std::vector<Expr> idx = AsExprs(v);
  for (size_t k = 0; k < starts.size() && k < axes.size(); ++k) {
    OPAL_ASSIGN_OR_RETURN(int a, NormAxis(axes[k], x.rank(), b.node()));
    const int64_t dim = x.shape[a];
    int64_t s = starts[k] < 0 ? starts[k] + dim : starts[k];
    s = steps[k] > 0 ? std::clamp<int64_t>(s, 0, dim) : std::clamp<int64_t>(s, 0, dim - 1);
    idx[a] = ClampIndex(static_cast<int>(s) + v[a] * static_cast<int>(steps[k]), dim);
  }
  Emit(b, 0, v, x(idx));
  return b.Finish();
}

Result<KernelDef> Pad(KernelBuilder& b, const TensorRef& x, const std::vector<Halide::Var>& v) {
  std::vector<int64_t> pads, axes;
  Expr cval = Halide::cast(x.type, Expr(0.0));
  if (b.opset() < 11) {
    pads = b.attrs().GetInts("pads");
    cval = Halide::cast(x.type, Expr(b.attrs().GetFloat("value", 0.0)));
  } else {
    OPAL_ASSIGN_OR_RETURN(pads, b.ConstantInts(1, "Pad pads"));
    if (b.HasInput(2)) {
      if (const Tensor* c = b.Constant(2)) {
        cval = Halide::cast(x.type, Expr(c->GetDouble(0)));
      } else {
        OPAL_ASSIGN_OR_RETURN(TensorRef cv, b.Input(2));
        cval = cv(std::vector<Expr>(cv.shape.size(), Expr(0)));
      }
    }
    if (b.HasInput(3)) {
      OPAL_ASSIGN_OR_RETURN(axes, b.ConstantInts(3, "Pad axes"));
    }
  }
  if (axes.empty()) {
    axes.resize(x.rank());
    std::iota(axes.begin(), axes.end(), 0);
  }
  if (pads.size() != 2 * axes.size()) return b.Unsupported("Pad pads of the wrong length");
  std::vector<int64_t> begin(x.rank(), 0);
  for (size_t k = 0; k < axes.size(); ++k) {
    OPAL_ASSIGN_OR_RETURN(int a, NormAxis(axes[k], x.rank(), b.node()));
    begin[a] = pads[k];
  }
  const std::string mode = b.attrs().GetString("mode", "constant");
  std::vector<Expr> idx;
  Expr inside = Halide::Internal::const_true();
  for (int d = 0; d < x.rank(); ++d) {
    const int n = static_cast<int>(x.shape[d]);
    Expr i = v[d] - static_cast<int>(begin[d]);
    inside = inside && i >= 0 && i < n;
    if (mode == "reflect" && n > 1) {
      const Expr period = 2 * (n - 1);
      const Expr m = Halide::abs(i) % period;  // Halide's % is Euclidean
      i = Halide::cast(Halide::Int(32), select(m < n, m, period - m));
    } else if (mode == "wrap") {
      i = i % n;
    } else if (mode != "constant" && mode != "edge" && mode != "reflect") {
      return b.Unsupported("Pad mode " + mode);
    }
    idx.push_back(ClampIndex(i, n));
  }
  Expr e = x(idx);
  if (mode == "constant") e = select(inside, e, cval);
  Emit(b, 0, v, e);
  return b.Finish();
}

Result<KernelDef> Concat(KernelBuilder& b, const std::vector<Halide::Var>& v) {
  const int rank = static_cast<int>(b.OutShape(0).size());
  OPAL_ASSIGN_OR_RETURN(int axis, NormAxis(b.attrs().GetInt("axis", 0), rank, b.node()));
  Expr e;
  int64_t offset = 0;
  std::vector<std::pair<int64_t, Expr>> parts;
  for (size_t i = 0; i < b.node().inputs.size(); ++i) {
    if (!b.HasInput(i) || NumElements(b.InShape(i)) == 0) {
      if (b.HasInput(i)) offset += b.InShape(i)[axis];
      continue;
    }
    OPAL_ASSIGN_OR_RETURN(TensorRef x, b.Input(i));
    std::vector<Expr> idx = AsExprs(v);
    idx[axis] = ClampIndex(v[axis] - static_cast<int>(offset), x.shape[axis]);
    offset += x.shape[axis];
    parts.emplace_back(offset, x(idx));
  }
  if (parts.empty()) return b.Unsupported("Concat of only empty inputs");
  e = parts.back().second;
  for (int i = static_cast<int>(parts.size()) - 2; i >= 0; --i) {
    e = select(v[axis] < static_cast<int>(parts[i].first), parts[i].second, e);
  }
  Emit(b, 0, v, e);
  return b.Finish();
}

Result<KernelDef> DepthSpace(KernelBuilder& b, const TensorRef& x,
                             const std::vector<Halide::Var>& v) {
  if (x.rank() != 4) return b.Unsupported(b.node().op_type + " of rank != 4");
  const int bs = static_cast<int>(b.attrs().GetInt("blocksize", 1));
  const Expr n = v[0], c = v[1], h = v[2], w = v[3];
  std::vector<Expr> idx;
  if (b.node().op_type == "DepthToSpace") {
    const int oc = static_cast<int>(b.OutShape(0)[1]);
    const Expr blk = (h % bs) * bs + w % bs;
    const Expr ic =
        b.attrs().GetString("mode", "DCR") == "CRD" ? c * (bs * bs) + blk : blk * oc + c;
    idx = {n, ic, h / bs, w / bs};
  } else {
    const int ic = static_cast<int>(x.shape[1]);
    const Expr blk = c / ic, ci = c % ic;
    idx = {n, ci, h * bs + blk / bs, w * bs + blk % bs};
  }
  Emit(b, 0, v, x(idx));
  return b.Finish();
}

// ScatterElements / Scatter / ScatterND: the data copied, then each update written (or combined
// with the reduction attribute) at its target index, in update order.
Result<KernelDef> Scatter(KernelBuilder& b, const TensorRef& x, const std::vector<Halide::Var>& v) {
  OPAL_ASSIGN_OR_RETURN(TensorRef ind, b.Input(1));
  OPAL_ASSIGN_OR_RETURN(TensorRef upd, b.Input(2));
  const std::string reduction = b.attrs().GetString("reduction", "none");
  if (reduction != "none" && reduction != "add" && reduction != "mul" && reduction != "max" &&
      reduction != "min") {
    return b.Unsupported("scatter reduction " + reduction);
  }
  if (NumElements(upd.shape) == 0) {
    Emit(b, 0, v, x(AsExprs(v)));
    return b.Finish();
  }
  std::vector<Halide::Range> ranges;
  for (int d = upd.rank() - 1; d >= 0; --d) ranges.emplace_back(0, static_cast<int>(upd.shape[d]));
  Halide::RDom r(ranges, "r");
  std::vector<Expr> ridx(upd.rank());
  for (int d = 0; d < upd.rank(); ++d) ridx[d] = r[upd.rank() - 1 - d];
  std::vector<Expr> target;
  if (b.node().op_type == "ScatterND") {
    const int q = ind.rank();
    const int64_t k = ind.shape.back();
    std::vector<Expr> ii(ridx.begin(), ridx.begin() + q - 1);
    ii.push_back(0);
    for (int64_t j = 0; j < k; ++j) {
      ii.back() = static_cast<int>(j);
      target.push_back(IndexFrom(ind(ii), x.shape[j]));
    }
    target.insert(target.end(), ridx.begin() + q - 1, ridx.end());
  } else {
    OPAL_ASSIGN_OR_RETURN(int axis, NormAxis(b.attrs().GetInt("axis", 0), x.rank(), b.node()));
    target = ridx;
    target[axis] = IndexFrom(ind(ridx), x.shape[axis]);
  }
  Func out("scatter");
  out(HalideArgs(v)) = x(AsExprs(v));
  const Expr cur = out(HalideArgs(target)), u = upd(ridx);
  Expr e = u;
  if (reduction == "add") e = cur + u;
  if (reduction == "mul") e = cur * u;
  if (reduction == "max") e = Halide::max(cur, u);
  if (reduction == "min") e = Halide::min(cur, u);
  out(HalideArgs(target)) = e;
  b.SetOutput(0, out);
  out.update().unscheduled();  // the updates in order, serially: later ones may overwrite earlier
  return b.Finish();
}

}  // namespace

const std::vector<std::string>& ShapeOps() {
  static const std::vector<std::string> ops = {"Transpose",
                                               "Gather",
                                               "GatherElements",
                                               "GatherND",
                                               "Concat",
                                               "Split",
                                               "Slice",
                                               "Pad",
                                               "Tile",
                                               "DepthToSpace",
                                               "SpaceToDepth",
                                               "Trilu",
                                               "EyeLike",
                                               "ScatterElements",
                                               "Scatter",
                                               "ScatterND",
                                               "ReverseSequence",
                                               "Reshape",
                                               "Flatten",
                                               "Squeeze",
                                               "Unsqueeze"};
  return ops;
}

Result<KernelDef> LowerShape(KernelBuilder& b) {
  b.set_kind("data_movement");
  const std::string& op = b.node().op_type;
  if (!HalideTypeOf(b.OutValue(0).dtype).ok()) {
    return b.Unsupported(fmt::format("output type {}", DTypeName(b.OutValue(0).dtype)));
  }
  const auto v = MakeVars(static_cast<int>(b.OutShape(0).size()));
  if (op == "Concat") return Concat(b, v);
  if (op == "EyeLike") {  // reads only its input's shape
    if (v.size() != 2) return b.Unsupported("EyeLike of rank != 2");
    const int k = static_cast<int>(b.attrs().GetInt("k", 0));
    Emit(b, 0, v, CastTo(b.OutValue(0).dtype, v[0] + k == v[1]));
    return b.Finish();
  }
  OPAL_ASSIGN_OR_RETURN(TensorRef x, b.Input(0));
  std::vector<Expr> idx = AsExprs(v);
  if (op == "Transpose") {
    return Transpose(b, x, v);
  } else if (op == "Gather") {
    OPAL_ASSIGN_OR_RETURN(int axis, NormAxis(b.attrs().GetInt("axis", 0), x.rank(), b.node()));
    OPAL_ASSIGN_OR_RETURN(TensorRef ind, b.Input(1));
    const int q = ind.rank();
    std::vector<Expr> ii(idx.begin() + axis, idx.begin() + axis + q);
    std::vector<Expr> in(idx.begin(), idx.begin() + axis);
    in.push_back(IndexFrom(ind(ii), x.shape[axis]));
    in.insert(in.end(), idx.begin() + axis + q, idx.end());
    Emit(b, 0, v, x(in));
  } else if (op == "GatherElements") {
    OPAL_ASSIGN_OR_RETURN(int axis, NormAxis(b.attrs().GetInt("axis", 0), x.rank(), b.node()));
    OPAL_ASSIGN_OR_RETURN(TensorRef ind, b.Input(1));
    std::vector<Expr> in = idx;
    in[axis] = IndexFrom(ind(idx), x.shape[axis]);
    Emit(b, 0, v, x(in));
  } else if (op == "GatherND") {
    const int bd = static_cast<int>(b.attrs().GetInt("batch_dims", 0));
    OPAL_ASSIGN_OR_RETURN(TensorRef ind, b.Input(1));
    const int q = ind.rank();
    const int64_t k = ind.shape.back();
    std::vector<Expr> in(idx.begin(), idx.begin() + bd);
    std::vector<Expr> ii(idx.begin(), idx.begin() + q - 1);
    ii.push_back(0);
    for (int64_t j = 0; j < k; ++j) {
      ii.back() = static_cast<int>(j);
      in.push_back(IndexFrom(ind(ii), x.shape[bd + j]));
    }
    in.insert(in.end(), idx.begin() + q - 1, idx.end());
    Emit(b, 0, v, x(in));
  } else if (op == "Split") {
    OPAL_ASSIGN_OR_RETURN(int axis, NormAxis(b.attrs().GetInt("axis", 0), x.rank(), b.node()));
    int64_t offset = 0;
    for (size_t i = 0; i < b.node().outputs.size(); ++i) {
      if (!b.HasOutput(i)) continue;
      const auto ov = MakeVars(x.rank());
      std::vector<Expr> in = AsExprs(ov);
      in[axis] = ov[axis] + static_cast<int>(offset);
      offset += b.OutShape(i)[axis];
      Emit(b, i, ov, x(in), "split");
    }
  } else if (op == "ScatterElements" || op == "Scatter" || op == "ScatterND") {
    return Scatter(b, x, v);
  } else if (op == "ReverseSequence") {
    const int ba = static_cast<int>(b.attrs().GetInt("batch_axis", 1));
    const int ta = static_cast<int>(b.attrs().GetInt("time_axis", 0));
    OPAL_ASSIGN_OR_RETURN(TensorRef lens, b.Input(1));
    const Expr len = Halide::cast(Halide::Int(32), lens({idx[ba]}));
    std::vector<Expr> in = idx;
    in[ta] = ClampIndex(select(idx[ta] < len, len - 1 - idx[ta], idx[ta]), x.shape[ta]);
    Emit(b, 0, v, x(in));
  } else if (op == "Slice") {
    return Slice(b, x, v);
  } else if (op == "Pad") {
    return Pad(b, x, v);
  } else if (op == "Tile") {
    std::vector<Expr> in;
    for (int d = 0; d < x.rank(); ++d) in.push_back(v[d] % static_cast<int>(x.shape[d]));
    Emit(b, 0, v, x(in));
  } else if (op == "DepthToSpace" || op == "SpaceToDepth") {
    return DepthSpace(b, x, v);
  } else if (op == "Trilu") {
    Expr k = 0;
    if (const Tensor* c = b.Constant(1)) {
      k = static_cast<int>(c->GetInt(0));
    } else if (b.HasInput(1)) {
      OPAL_ASSIGN_OR_RETURN(TensorRef kr, b.Input(1));
      k = Halide::cast(Halide::Int(32), kr(std::vector<Expr>(kr.shape.size(), Expr(0))));
    }
    if (x.rank() < 2) return b.Unsupported("Trilu of rank < 2");
    const Expr i = v[x.rank() - 2], j = v[x.rank() - 1];
    const Expr keep = b.attrs().GetInt("upper", 1) != 0 ? j - i >= k : j - i <= k;
    Emit(b, 0, v, select(keep, x(idx), Halide::cast(x.type, Expr(0))));
  } else {  // Reshape, Flatten, Squeeze, Unsqueeze as copies
    Emit(b, 0, v, SamePosition(x, v, b.OutShape(0)));
  }
  return b.Finish();
}

}  // namespace opal::lower
