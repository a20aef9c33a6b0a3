#include "lower/lower_reduce.h"

#include <cmath>
#include <optional>

#include "lower/lower_planes.h"

namespace opal::lower {
namespace {

using Halide::Expr;
using Halide::Func;
using Halide::RDom;
using Halide::Var;

Expr K(const Halide::Type& t, double v) { return Halide::cast(t, Expr(v)); }

// A reduction over some axes of a tensor of rank vars.size(): `idx` is the full index with the
// reduced axes replaced by RDom variables (last axis innermost), `kept` the Halide-order Vars
// of the axes that stay, `count` the number of reduced elements.
struct AxisReduction {
  std::vector<Var> vars;
  std::vector<bool> reduced;
  std::vector<Expr> idx;
  std::vector<Var> kept;
  bool has_rdom = false;
  RDom r;
  int64_t count = 1;

  Expr Sum(const Expr& e) const { return has_rdom ? Halide::sum(e) : e; }
  Expr Max(const Expr& e) const { return has_rdom ? Halide::maximum(e) : e; }
  Expr Min(const Expr& e) const { return has_rdom ? Halide::minimum(e) : e; }
  Expr Prod(const Expr& e) const { return has_rdom ? Halide::product(e) : e; }
  // The kept index expressions in ONNX order for a Func over `kept`.
  std::vector<Expr> KeptArgs() const { return std::vector<Expr>(kept.begin(), kept.end()); }
};

AxisReduction MakeReduction(const Shape& shape, const std::vector<bool>& reduced,
                            const std::vector<Var>& vars) {
  AxisReduction a;
  a.vars = vars;
  a.reduced = reduced;
  std::vector<Halide::Range> ranges;
  std::vector<int> axes;
  for (int d = static_cast<int>(shape.size()) - 1; d >= 0; --d) {
    if (reduced[d]) {
      ranges.emplace_back(0, static_cast<int>(shape[d]));
      axes.push_back(d);
      a.count *= shape[d];
    }
  }
  a.idx = AsExprs(vars);
  if (!ranges.empty()) {
    a.has_rdom = true;
    a.r = RDom(ranges, "r");
    for (size_t k = 0; k < axes.size(); ++k) a.idx[axes[k]] = a.r[static_cast<int>(k)];
  }
  for (int d = static_cast<int>(shape.size()) - 1; d >= 0; --d) {
    if (!reduced[d]) a.kept.push_back(vars[d]);
  }
  return a;
}

// The axes an op reduces over, from its attribute or (newer opsets) its second input.
Result<std::vector<bool>> ReducedAxes(KernelBuilder& b, int rank) {
  const std::string& op = b.node().op_type;
  std::vector<int64_t> axes;
  const bool from_input = (op == "ReduceSum" && b.opset() >= 13) || b.opset() >= 18;
  if (from_input && b.HasInput(1)) {
    OPAL_ASSIGN_OR_RETURN(axes, b.ConstantInts(1, "axes"));
  } else {
    axes = b.attrs().GetInts("axes");
  }
  const bool noop = b.attrs().GetInt("noop_with_empty_axes", 0) != 0;
  std::vector<bool> reduced(rank, axes.empty() && !noop);
  for (int64_t a : axes) {
    OPAL_ASSIGN_OR_RETURN(int d, NormAxis(a, rank, b.node()));
    reduced[d] = true;
  }
  return reduced;
}

// Mean, sum, max or min over trailing axes of a float tensor: a reduction of contiguous planes.
std::optional<Result<KernelDef>> TryPlaneReduction(KernelBuilder& b, const std::vector<bool>& reduced) {
  const std::string& op = b.node().op_type;
  int first = 0;
  if (!PlaneReductionSupports(b.InValue(0).dtype) || !ReducesTrailingAxes(reduced, &first))
    return std::nullopt;
  const Shape& in = b.InShape(0);
  int64_t rows = 1, plane = 1;
  for (size_t d = 0; d < in.size(); ++d) (static_cast<int>(d) < first ? rows : plane) *= in[d];
  if (op == "ReduceMean")
    return LowerPlaneReduction(b, rows, plane, PlaneOp::kSum, 1.0 / static_cast<double>(plane));
  if (op == "ReduceSum") return LowerPlaneReduction(b, rows, plane, PlaneOp::kSum);
  if (op == "ReduceMax") return LowerPlaneReduction(b, rows, plane, PlaneOp::kMax);
  if (op == "ReduceMin") return LowerPlaneReduction(b, rows, plane, PlaneOp::kMin);
  return std::nullopt;
}

Result<KernelDef> LowerReduceOp(KernelBuilder& b) {
  if (!b.HasInput(0)) return Error(ErrorCode::kInvalidModel, "{}: input 0 is missing", b.node().Describe());
  const std::string& op = b.node().op_type;
  OPAL_ASSIGN_OR_RETURN(std::vector<bool> reduced, ReducedAxes(b, static_cast<int>(b.InShape(0).size())));
  if (auto planes = TryPlaneReduction(b, reduced)) return std::move(*planes);
  OPAL_ASSIGN_OR_RETURN(TensorRef x, b.Input(0));
  const auto vars = MakeVars(x.rank());
  AxisReduction a = MakeReduction(x.shape, reduced, vars);
  const Expr v = x(a.idx);
  const auto t = v.type();
  Expr e;
  if (op == "ReduceSum")
    e = a.Sum(v);
  else if (op == "ReduceMean")
    e = a.Sum(v) / K(t, static_cast<double>(a.count));
  else if (op == "ReduceMax")
    e = a.Max(v);
  else if (op == "ReduceMin")
    e = a.Min(v);
  else if (op == "ReduceProd")
    e = a.Prod(v);
  else if (op == "ReduceL1")
    e = a.Sum(Halide::cast(t, Halide::abs(v)));
  else if (op == "ReduceL2")
    e = Halide::sqrt(a.Sum(v * v));
  else if (op == "ReduceSumSquare")
    e = a.Sum(v * v);
  else if (op == "ReduceLogSum")
    e = Halide::log(a.Sum(v));
  else {  // ReduceLogSumExp, with the max subtracted for stability
    AxisReduction a2 = MakeReduction(x.shape, reduced, vars);
    Func m("max");
    m(a.kept) = a2.Max(x(a2.idx));
    const Expr mk = m(a.KeptArgs());
    e = mk + Halide::log(a.Sum(Halide::exp(v - mk)));
  }
  const bool keep = b.attrs().GetInt("keepdims", 1) != 0;
  Func out("out");
  out(keep ? HalideArgs(vars) : a.kept) = CastTo(b.OutValue(0).dtype, e);
  b.SetOutput(0, out);
  return b.Finish();
}

Result<KernelDef> LowerArgReduce(KernelBuilder& b) {
  OPAL_ASSIGN_OR_RETURN(TensorRef x, b.Input(0));
  OPAL_ASSIGN_OR_RETURN(int axis, NormAxis(b.attrs().GetInt("axis", 0), x.rank(), b.node()));
  const bool keep = b.attrs().GetInt("keepdims", 1) != 0;
  const bool last = b.attrs().GetInt("select_last_index", 0) != 0;
  const bool is_max = b.node().op_type == "ArgMax";
  const auto vars = MakeVars(x.rank());
  std::vector<Var> args;  // Halide order
  for (int d = x.rank() - 1; d >= 0; --d) {
    if (keep || d != axis) args.push_back(vars[d]);
  }
  std::vector<Expr> idx = AsExprs(vars);
  idx[axis] = 0;
  Func acc("arg");
  acc(args) = Halide::Tuple(Expr(0), x(idx));
  if (x.shape[axis] > 1) {
    RDom r(1, static_cast<int>(x.shape[axis]) - 1, "r");
    idx[axis] = r;
    const Expr v = x(idx), cur = acc(args)[1];
    const Expr better = is_max ? (last ? v >= cur : v > cur) : (last ? v <= cur : v < cur);
    acc(args) =
        Halide::Tuple(Halide::select(better, r, acc(args)[0]), Halide::select(better, v, cur));
  }
  Func out("out");
  out(args) = Halide::cast(Halide::Int(64), acc(args)[0]);
  b.SetOutput(0, out);
  return b.Finish();
}

// Softmax, LogSoftmax, Hardmax: over one axis (opset >= 13) or the trailing dims from `axis`.
Result<KernelDef> LowerSoftmax(KernelBuilder& b) {
  OPAL_ASSIGN_OR_RETURN(TensorRef x, b.Input(0));
  const bool v13 = b.opset() >= 13;
  OPAL_ASSIGN_OR_RETURN(int axis,
                        NormAxis(b.attrs().GetInt("axis", v13 ? -1 : 1), x.rank(), b.node()));
  std::vector<bool> reduced(x.rank(), false);
  for (int d = axis; d < (v13 ? axis + 1 : x.rank()); ++d) reduced[d] = true;
  const auto vars = MakeVars(x.rank());
  const auto idx = AsExprs(vars);
  const std::string& op = b.node().op_type;
  AxisReduction a = MakeReduction(x.shape, reduced, vars);
  Func out("out");
  std::vector<Func> stats;
  Func per_element;  // Softmax's exp(x - max), computed per row and vectorised
  if (op == "Hardmax") {
    // The first maximum over the reduced dims, as a linear index in the order of the RDom.
    Func acc("argmax");
    acc(a.kept) = Halide::Tuple(Expr(-1), LowestOf(x.type));
    Expr lin = 0;
    int64_t stride = 1;
    for (int d = x.rank() - 1, k = 0; d >= 0; --d) {
      if (!reduced[d]) continue;
      lin = lin + a.r[k++] * static_cast<int>(stride);
      stride *= x.shape[d];
    }
    const Expr v = x(a.idx);
    const Expr better = v > acc(a.kept)[1] || acc(a.kept)[0] < 0;
    acc(a.kept) = Halide::Tuple(Halide::select(better, lin, acc(a.kept)[0]),
                                Halide::select(better, v, acc(a.kept)[1]));
    Expr here = 0;
    stride = 1;
    for (int d = x.rank() - 1; d >= 0; --d) {
      if (!reduced[d]) continue;
      here = here + vars[d] * static_cast<int>(stride);
      stride *= x.shape[d];
    }
    out(HalideArgs(vars)) =
        Halide::select(here == acc(a.KeptArgs())[0], K(x.type, 1), K(x.type, 0));
    stats.push_back(acc);
  } else {
    Func mx("max"), sum("sum"), ex("exp");
    AxisReduction a2 = MakeReduction(x.shape, reduced, vars);
    mx(a.kept) = a.Max(x(a.idx));
    const Expr shifted = x(idx) - mx(a.KeptArgs());
    // exp(x - max) once per element, vectorised, then summed and (Softmax) scaled.
    ex(HalideArgs(vars)) = Halide::exp(shifted);
    sum(a.kept) = a2.Sum(ex(HalideArgs(a2.idx)));
    if (op == "Softmax") {
      out(HalideArgs(vars)) = ex(HalideArgs(idx)) * (K(x.type, 1) / sum(a.KeptArgs()));
    } else {
      // strict_float: x - (max + log(sum)) loses the small terms when x is large.
      out(HalideArgs(vars)) = Halide::strict_float(shifted - Halide::log(sum(a.KeptArgs())));
    }
    stats = {mx, ex, sum};
    per_element = ex;
  }
  Halide::LoopLevel row = b.SetOutput(0, out);
  const bool innermost_only = reduced.back() && a.count == x.shape.back();
  for (Func& f : stats) {
    if (innermost_only) {
      f.compute_at(row);
      if (per_element.defined() && f.name() == per_element.name() && x.shape.back() >= b.options().vector_lanes)
        f.vectorize(f.args()[0], b.options().vector_lanes);
    } else {
      f.compute_root();
    }
  }
  return b.Finish();
}

// Mean and variance over `reduced`, as Funcs over the kept dims.
void MeanVar(const TensorRef& x, const std::vector<bool>& reduced, const std::vector<Var>& vars,
             Func* mean, Func* var) {
  AxisReduction a = MakeReduction(x.shape, reduced, vars);
  AxisReduction a2 = MakeReduction(x.shape, reduced, vars);
  const Expr n = K(x.type, static_cast<double>(a.count));
  (*mean)(a.kept) = a.Sum(x(a.idx)) / n;
  const Expr d = x(a2.idx) - (*mean)(a.KeptArgs());
  (*var)(a.kept) = a2.Sum(d * d) / n;
}

Result<KernelDef> LowerNormalization(KernelBuilder& b) {
  OPAL_ASSIGN_OR_RETURN(TensorRef x, b.Input(0));
  const std::string& op = b.node().op_type;
  const int rank = x.rank();
  const auto vars = MakeVars(rank);
  const auto idx = AsExprs(vars);
  std::vector<bool> reduced(rank, false);
  if (op == "LayerNormalization") {
    OPAL_ASSIGN_OR_RETURN(int axis, NormAxis(b.attrs().GetInt("axis", -1), rank, b.node()));
    for (int d = axis; d < rank; ++d) reduced[d] = true;
  } else if (op == "InstanceNormalization") {
    if (rank < 3) return b.Unsupported("InstanceNormalization of rank < 3");
    for (int d = 2; d < rank; ++d) reduced[d] = true;
  } else if (op == "MeanVarianceNormalization") {
    for (int64_t a : b.attrs().GetInts("axes", {0, 2, 3})) {
      OPAL_ASSIGN_OR_RETURN(int d, NormAxis(a, rank, b.node()));
      reduced[d] = true;
    }
  } else {  // LpNormalization
    OPAL_ASSIGN_OR_RETURN(int axis, NormAxis(b.attrs().GetInt("axis", -1), rank, b.node()));
    reduced[axis] = true;
  }
  AxisReduction a = MakeReduction(x.shape, reduced, vars);
  const auto kept = a.KeptArgs();
  Func out("out");
  std::vector<Func> stats;
  if (op == "LpNormalization") {
    const int64_t p = b.attrs().GetInt("p", 2);
    if (p != 1 && p != 2) return b.Unsupported(fmt::format("LpNormalization p={}", p));
    Func norm("norm");
    const Expr v = x(a.idx);
    norm(a.kept) =
        p == 1 ? a.Sum(Halide::cast(x.type, Halide::abs(v))) : Halide::sqrt(a.Sum(v * v));
    out(HalideArgs(vars)) = x(idx) / norm(kept);
    stats = {norm};
  } else {
    Func mean("mean"), var("var");
    MeanVar(x, reduced, vars, &mean, &var);
    const Expr centred = x(idx) - mean(kept);
    if (op == "MeanVarianceNormalization") {
      out(HalideArgs(vars)) = centred / (Halide::sqrt(var(kept)) + K(x.type, 1e-9));
    } else {
      const Expr eps = K(x.type, b.attrs().GetFloat("epsilon", 1e-5));
      Func inv("inv_std");
      inv(a.kept) = K(x.type, 1) / Halide::sqrt(var(kept) + eps);
      OPAL_ASSIGN_OR_RETURN(TensorRef scale, b.Input(1));
      Expr y = centred * inv(kept);
      if (op == "InstanceNormalization") {
        OPAL_ASSIGN_OR_RETURN(TensorRef bias, b.Input(2));
        y = y * scale({idx[1]}) + bias({idx[1]});
      } else {
        y = y * scale.Broadcast(idx);
        if (b.HasInput(2)) {
          OPAL_ASSIGN_OR_RETURN(TensorRef bias, b.Input(2));
          y = y + bias.Broadcast(idx);
        }
      }
      out(HalideArgs(vars)) = y;
      stats = {mean, var, inv};
    }
  }
  Halide::LoopLevel row = b.SetOutput(0, out);
  bool extras = false;
  for (size_t i = 1; i < 3 && op == "LayerNormalization"; ++i) {
    if (!b.HasOutput(i)) continue;
    // Mean / InvStdDev: the statistics with the reduced dims kept as 1.
    extras = true;
    const auto ovars = MakeVars(rank);
    std::vector<Expr> kidx;
    for (int d = rank - 1; d >= 0; --d) {
      if (!reduced[d]) kidx.push_back(ovars[d]);
    }
    Func extra(i == 1 ? "mean_out" : "inv_std_out");
    extra(HalideArgs(ovars)) = CastTo(b.OutValue(i).dtype, stats[i == 1 ? 0 : 2](kidx));
    b.SetOutput(i, extra);
  }
  const bool innermost_only = reduced.back() && a.count == x.shape.back();
  for (Func& f : stats) {
    if (innermost_only && !extras) {
      f.compute_at(row);
    } else {
      f.compute_root();
    }
  }
  return b.Finish();
}

// CumSum along a constant axis: out[i] = sum of x[j] for j <= i (j < i when exclusive; j >= i
// or j > i when reverse).
Result<KernelDef> LowerCumSum(KernelBuilder& b) {
  OPAL_ASSIGN_OR_RETURN(TensorRef x, b.Input(0));
  OPAL_ASSIGN_OR_RETURN(std::vector<int64_t> axis_v, b.ConstantInts(1, "CumSum axis"));
  if (axis_v.size() != 1) return b.Unsupported("a CumSum axis that is not a scalar");
  OPAL_ASSIGN_OR_RETURN(int axis, NormAxis(axis_v[0], x.rank(), b.node()));
  const bool exclusive = b.attrs().GetInt("exclusive", 0) != 0;
  const bool reverse = b.attrs().GetInt("reverse", 0) != 0;
  const auto vars = MakeVars(x.rank());
  RDom r(0, static_cast<int>(x.shape[axis]), "r");
  const Expr i = vars[axis];
  const Expr in = reverse ? (exclusive ? r > i : r >= i) : (exclusive ? r < i : r <= i);
  std::vector<Expr> idx = AsExprs(vars);
  idx[axis] = r;
  Func out("out");
  out(HalideArgs(vars)) = Halide::sum(Halide::select(in, x(idx), K(x.type, 0)));
  b.SetOutput(0, out);
  return b.Finish();
}

}  // namespace

const std::vector<std::string>& ReduceOps() {
  static const std::vector<std::string> ops = {"ReduceSum",
                                               "ReduceMean",
                                               "ReduceMax",
                                               "ReduceMin",
                                               "ReduceProd",
                                               "ReduceL1",
                                               "ReduceL2",
                                               "ReduceSumSquare",
                                               "ReduceLogSum",
                                               "ReduceLogSumExp",
                                               "ArgMax",
                                               "ArgMin",
                                               "Softmax",
                                               "LogSoftmax",
                                               "Hardmax",
                                               "LayerNormalization",
                                               "InstanceNormalization",
                                               "LpNormalization",
                                               "MeanVarianceNormalization",
                                               "CumSum"};
  return ops;
}

Result<KernelDef> LowerReduce(KernelBuilder& b) {
  b.set_kind("reduce");
  const std::string& op = b.node().op_type;
  if (op == "ArgMax" || op == "ArgMin") return LowerArgReduce(b);
  if (op == "CumSum") return LowerCumSum(b);
  if (op == "Softmax" || op == "LogSoftmax" || op == "Hardmax") return LowerSoftmax(b);
  if (op.rfind("Reduce", 0) == 0) return LowerReduceOp(b);
  return LowerNormalization(b);
}

}  // namespace opal::lower
