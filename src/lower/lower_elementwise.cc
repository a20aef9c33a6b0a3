#include "lower/lower_elementwise.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "lower/elementwise_expr.h"

namespace opal::lower {
namespace {

using Halide::Expr;
using Halide::Func;
using Halide::select;

// A constant of type t.
Expr K(const Halide::Type& t, double v) { return Halide::cast(t, Expr(v)); }

Result<Expr> BatchNorm(KernelBuilder& b, const std::vector<Expr>& idx) {
  if (b.attrs().GetInt("training_mode", 0) != 0 || b.HasOutput(1) || b.HasOutput(2)) {
    return b.Unsupported("BatchNormalization in training mode");
  }
  if (b.attrs().GetInt("spatial", 1) == 0) return b.Unsupported("BatchNormalization spatial=0");
  if (idx.size() < 2) return b.Unsupported("BatchNormalization of rank < 2");
  std::vector<Expr> v;
  for (size_t i = 0; i < 5; ++i) {
    OPAL_ASSIGN_OR_RETURN(TensorRef r, b.Input(i));
    if (i > 0 && r.rank() != 1) return b.Unsupported("BatchNormalization parameters of rank != 1");
    v.push_back(i == 0 ? r(idx) : r({idx[1]}));
  }
  const auto t = v[0].type();
  const Expr eps = K(t, b.attrs().GetFloat("epsilon", 1e-5));
  return (v[0] - v[3]) / Halide::sqrt(v[4] + eps) * v[1] + v[2];
}

// A per-tensor (scalar) or per-axis (1-D) quantisation parameter, read at output index idx.
Result<Expr> QuantParam(KernelBuilder& b, size_t i, const std::vector<Expr>& idx) {
  OPAL_ASSIGN_OR_RETURN(TensorRef p, b.Input(i));
  if (NumElements(p.shape) == 1) return p(std::vector<Expr>(p.shape.size(), Expr(0)));
  if (p.rank() != 1) return b.Unsupported("blocked quantisation parameters");
  OPAL_ASSIGN_OR_RETURN(
      int axis, NormAxis(b.attrs().GetInt("axis", 1), static_cast<int>(idx.size()), b.node()));
  return p({idx[axis]});
}

// QuantizeLinear: saturate(round_half_even(x / scale) + zero_point); DequantizeLinear:
// (x - zero_point) * scale.
Result<Expr> Quantize(KernelBuilder& b, const std::vector<Expr>& idx) {
  OPAL_ASSIGN_OR_RETURN(TensorRef x, b.Input(0));
  OPAL_ASSIGN_OR_RETURN(Expr scale, QuantParam(b, 1, idx));
  Expr zp = 0;
  if (b.HasInput(2)) {
    OPAL_ASSIGN_OR_RETURN(zp, QuantParam(b, 2, idx));
  }
  if (b.node().op_type == "DequantizeLinear") {
    const Expr q = Halide::cast(Halide::Int(32), x(idx)) - Halide::cast(Halide::Int(32), zp);
    return Halide::cast(scale.type(), q) * scale;
  }
  OPAL_ASSIGN_OR_RETURN(Halide::Type qt, HalideTypeOf(b.OutValue(0).dtype));
  const Expr q = Halide::round(x(idx) / scale) + Halide::cast(Halide::Float(32), zp);
  return Halide::cast(qt, Halide::clamp(q, Halide::cast(Halide::Float(32), qt.min()),
                                        Halide::cast(Halide::Float(32), qt.max())));
}


// The dims of a pointwise group's output after coalescing: adjacent dims merge when every operand
// either varies along both or along neither (a dense tensor's bytes read the same either way), and
// dims of extent 1 disappear. [1, C, H, W] with a per-channel operand [C, 1, 1] becomes [C, H*W];
// with same-shaped operands only, one flat dim.
struct Coalesced {
  Shape out;                  // ONNX order, outermost first
  std::vector<Shape> inputs;  // per operand, the same rank as `out` (1 where it broadcasts)
};

Coalesced Coalesce(const Shape& out, const std::vector<Shape>& inputs) {
  const size_t r = out.size();
  std::vector<Shape> padded;
  for (const Shape& s : inputs) {
    Shape p(r - s.size(), 1);
    p.insert(p.end(), s.begin(), s.end());
    padded.push_back(p);
  }
  Coalesced c;
  c.inputs.resize(inputs.size());
  bool open = false;
  for (size_t d = 0; d < r; ++d) {
    if (out[d] == 1) continue;
    bool merge = open;
    for (size_t k = 0; k < padded.size() && merge; ++k) {
      const bool full = padded[k][d] != 1;
      const bool prev_full = c.inputs[k].back() != 1;
      merge = full == prev_full;
    }
    if (merge) {
      c.out.back() *= out[d];
      for (size_t k = 0; k < padded.size(); ++k) c.inputs[k].back() *= padded[k][d];
    } else {
      c.out.push_back(out[d]);
      for (size_t k = 0; k < padded.size(); ++k) c.inputs[k].push_back(padded[k][d]);
    }
    open = true;
  }
  return c;
}

// A streaming pass over `out` (dims innermost first, extents `shape` in ONNX order): the innermost
// dim vectorised, the rest fused, in parallel tasks of at least kTaskElems elements.
void ScheduleStreaming(Func out, const Shape& shape, int lanes, int cores) {
  constexpr int64_t kTaskElems = 16384;
  const int r = static_cast<int>(shape.size());
  if (r == 0) return;
  std::vector<Halide::Var> args = out.args();
  const int64_t total = NumElements(shape), inner = shape.back();
  int vec = lanes;
  while (vec > 4 && inner < vec) vec /= 2;
  const bool parallel = cores > 1 && total >= 2 * kTaskElems;
  const int64_t tasks = parallel ? std::min<int64_t>(total / kTaskElems, int64_t(cores) * 8) : 1;
  Halide::Var xo("xo"), xi("xi"), outer("outer"), po("po"), pi("pi");
  if (r == 1 || (parallel && total / inner < tasks)) {
    // Few rows: the chunks of the innermost dim are the parallel tasks (with the rows, fused).
    int64_t chunk = std::max<int64_t>(vec, (inner + tasks - 1) / tasks * (r == 1 ? 1 : total / inner));
    chunk = std::min<int64_t>((chunk + vec - 1) / vec * vec, inner);
    if (parallel && chunk < inner) {
      out.split(args[0], xo, xi, static_cast<int>(chunk));
      if (inner >= vec) out.vectorize(xi, vec);
      Halide::Var task = xo;
      for (int d = 1; d < r; ++d) {
        Halide::Var f(fmt::format("f{}", d));
        out.fuse(task, args[d], f);
        task = f;
      }
      out.parallel(task);
    } else if (inner >= vec) {
      out.vectorize(args[0], vec);
    }
    return;
  }
  if (inner >= vec) out.vectorize(args[0], vec);
  Halide::Var rows = args[1];
  for (int d = 2; d < r; ++d) {
    Halide::Var f(fmt::format("f{}", d));
    out.fuse(rows, args[d], f);
    rows = f;
  }
  if (!parallel) return;
  const int64_t nrows = total / inner;
  const int64_t per_task = std::max<int64_t>(1, nrows / tasks);
  if (per_task > 1) {
    out.split(rows, po, pi, static_cast<int>(per_task));
    out.parallel(po);
  } else {
    out.parallel(rows);
  }
}

}  // namespace

const std::vector<std::string>& ElementwiseOps() {
  static const std::vector<std::string> ops = [] {
    std::vector<std::string> v = {"Add", "Sub", "Mul", "Div", "Pow", "Mod", "BitShift", "PRelu", "And", "Or", "Xor",
                                  "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "Max", "Min", "Sum",
                                  "Mean", "Where", "Clip", "BatchNormalization", "QuantizeLinear",
                                  "DequantizeLinear", "Sqrt", "Reciprocal", "Erf", "Relu", "Exp", "Log", "Tanh",
                                  "Sigmoid", "Neg", "Abs", "Floor", "Ceil", "Round", "Sign", "Sin", "Cos", "Tan",
                                  "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh", "Not", "IsNaN",
                                  "IsInf", "LeakyRelu", "Elu", "Celu", "Selu", "HardSigmoid", "HardSwish",
                                  "Softplus", "Softsign", "ThresholdedRelu", "Shrink", "Gelu", "Cast", "CastLike",
                                  "Identity", "Dropout", "Expand"};
    return v;
  }();
  return ops;
}

namespace {

// The pointwise kernel of `members` (the anchor first, in topological order) writing `output`.
Result<KernelDef> LowerPointwiseNodes(const Graph& g, const std::vector<const Node*>& members, ValueId output,
                                      const LowerOptions& o) {
  const bool fused = members.size() > 1;
  const Value& outv = g.value(output);
  OPAL_RETURN_IF_ERROR(HalideTypeOf(outv.dtype).status());
  std::set<ValueId> produced;
  for (const Node* m : members) produced.insert(m->outputs[0]);
  std::vector<ValueId> ext;  // operands read from memory, in first-use order
  for (const Node* m : members) {
    const Node& n = *m;
    if (!IsPointwiseNode(g, n))
      return Error(ErrorCode::kInternal, "{}: fused into a pointwise kernel but not pointwise", n.Describe());
    for (size_t i : PointwiseDataInputs(n)) {
      const ValueId v = n.inputs[i];
      if (produced.count(v) || ScalarConstant(g, v).defined()) continue;
      if (std::find(ext.begin(), ext.end(), v) == ext.end()) ext.push_back(v);
    }
  }
  std::vector<Shape> shapes;
  for (ValueId v : ext) shapes.push_back(g.value(v).shape);
  const Coalesced c = Coalesce(outv.shape, shapes);

  KernelDef def;
  def.kind = fused ? "fused-elementwise" : "elementwise";
  const auto vars = MakeVars(static_cast<int>(c.out.size()));
  const auto idx = AsExprs(vars);
  std::map<ValueId, Expr> at;
  for (size_t k = 0; k < ext.size(); ++k) {
    const Value& v = g.value(ext[k]);
    OPAL_ASSIGN_OR_RETURN(Halide::Type t, HalideTypeOf(v.dtype));
    Halide::ImageParam p(t, static_cast<int>(c.inputs[k].size()), fmt::format("in{}", k));
    const ArgView view = DenseView(c.inputs[k]);
    ConstrainView(p, view);
    def.inputs.push_back(p);
    def.input_values.push_back(ext[k]);
    def.input_views.push_back(view);
    at[ext[k]] = TensorRef{Func(p), c.inputs[k], t}.Broadcast(idx);
  }
  for (const Node* m : members) {
    const Node& n = *m;
    std::vector<Expr> in(n.inputs.size());
    for (size_t i : PointwiseDataInputs(n)) {
      auto it = at.find(n.inputs[i]);
      in[i] = it != at.end() ? it->second : ScalarConstant(g, n.inputs[i]);
    }
    OPAL_ASSIGN_OR_RETURN(Expr e, PointwiseExpr(g, n, in));
    at[n.outputs[0]] = e;
  }
  Func out(fused ? "fused" : "out");
  out(HalideArgs(vars)) = at.at(output);
  const ArgView view = DenseView(c.out);
  for (size_t d = 0; d < view.dims.size(); ++d)
    out.output_buffer()
        .dim(static_cast<int>(d))
        .set_bounds(0, static_cast<int>(view.dims[d].extent))
        .set_stride(static_cast<int>(view.dims[d].stride));
  const Target host = o.target ? *o.target : Target::DetectHost();
  ScheduleStreaming(out, c.out, o.vector_lanes, std::max(1, host.cores));
  def.outputs = {out};
  def.output_values = {output};
  def.output_views = {view};
  return def;
}

}  // namespace

Result<KernelDef> LowerPointwiseGroup(const Graph& g, const KernelGroup& grp, const LowerOptions& o) {
  std::vector<const Node*> members;
  for (NodeId m : grp.members) members.push_back(&g.node(m));
  return LowerPointwiseNodes(g, members, grp.output, o);
}

Result<KernelDef> LowerElementwise(KernelBuilder& b) {
  const Graph& g = b.graph();
  const Node& n = b.node();
  if (IsPointwiseNode(g, n)) return LowerPointwiseNodes(g, {&n}, n.outputs[0], b.options());
  b.set_kind("elementwise");
  const std::string& op = n.op_type;
  const DType out_dtype = b.OutValue(0).dtype;
  if (!HalideTypeOf(out_dtype).ok()) return b.Unsupported(fmt::format("output type {}", DTypeName(out_dtype)));
  if (op == "Dropout" && !DropoutPassesThrough(g, n)) return b.Unsupported("Dropout in training mode with a ratio that is not 0");
  const auto vars = MakeVars(static_cast<int>(b.OutShape(0).size()));
  const auto idx = AsExprs(vars);
  Expr e;
  if (op == "QuantizeLinear" || op == "DequantizeLinear") {
    OPAL_ASSIGN_OR_RETURN(e, Quantize(b, idx));
  } else if (op == "BatchNormalization") {
    OPAL_ASSIGN_OR_RETURN(e, BatchNorm(b, idx));
  } else if (op == "Dropout" || op == "Identity" || op == "Cast" || op == "CastLike" || op == "Expand") {
    OPAL_ASSIGN_OR_RETURN(TensorRef x, b.Input(0));  // a copy (with a mask output, or shapes opal cannot alias)
    e = x.Broadcast(idx);
  } else {
    return b.Unsupported("this form of " + op);
  }
  Func out("out");
  out(HalideArgs(vars)) = CastTo(out_dtype, e);
  b.SetOutput(0, out);
  if (op == "Dropout" && b.HasOutput(1)) {
    const auto mvars = MakeVars(static_cast<int>(b.OutShape(1).size()));
    Func mask("mask");
    mask(HalideArgs(mvars)) = CastTo(b.OutValue(1).dtype, Expr(true));
    b.SetOutput(1, mask);
  }
  return b.Finish();
}

}  // namespace opal::lower
