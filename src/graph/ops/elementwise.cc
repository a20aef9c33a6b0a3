// Element-wise operators: unary math and activations, broadcasting binary arithmetic,
// comparisons and logic, variadic Max/Min/Sum/Mean, Where, Clip, Cast, Identity, Dropout.
#include <cmath>
#include <functional>
#include <map>

#include "graph/ops/op_util.h"

namespace opal::graph {
namespace {

using K = Attribute::Kind;

// ---- unary -----------------------------------------------------------------------------------

struct UnaryDef {
  double (*fn)(double x, double alpha, double beta);
  double alpha, beta;  // attribute defaults
  bool float_only;     // integer inputs are rejected
};

double Sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

const std::map<std::string, UnaryDef>& UnaryOps() {
  static const std::map<std::string, UnaryDef> ops = {
      {"Relu", {[](double x, double, double) { return x > 0 ? x : 0.0; }, 0, 0, false}},
      {"Sqrt", {[](double x, double, double) { return std::sqrt(x); }, 0, 0, true}},
      {"Erf", {[](double x, double, double) { return std::erf(x); }, 0, 0, true}},
      {"Reciprocal", {[](double x, double, double) { return 1.0 / x; }, 0, 0, true}},
      {"Exp", {[](double x, double, double) { return std::exp(x); }, 0, 0, true}},
      {"Log", {[](double x, double, double) { return std::log(x); }, 0, 0, true}},
      {"Neg", {[](double x, double, double) { return -x; }, 0, 0, false}},
      {"Abs", {[](double x, double, double) { return std::fabs(x); }, 0, 0, false}},
      {"Sign", {[](double x, double, double) { return double((x > 0) - (x < 0)); }, 0, 0, false}},
      {"Floor", {[](double x, double, double) { return std::floor(x); }, 0, 0, true}},
      {"Ceil", {[](double x, double, double) { return std::ceil(x); }, 0, 0, true}},
      {"Round", {[](double x, double, double) { return std::nearbyint(x); }, 0, 0, true}},
      {"Sin", {[](double x, double, double) { return std::sin(x); }, 0, 0, true}},
      {"Cos", {[](double x, double, double) { return std::cos(x); }, 0, 0, true}},
      {"Tanh", {[](double x, double, double) { return std::tanh(x); }, 0, 0, true}},
      {"Sigmoid", {[](double x, double, double) { return Sigmoid(x); }, 0, 0, true}},
      {"Softplus", {[](double x, double, double) { return std::log1p(std::exp(x)); }, 0, 0, true}},
      {"Softsign", {[](double x, double, double) { return x / (1.0 + std::fabs(x)); }, 0, 0, true}},
      {"HardSigmoid",
       {[](double x, double a, double b) { return std::fmax(0.0, std::fmin(1.0, a * x + b)); }, 0.2, 0.5, true}},
      {"HardSwish",
       {[](double x, double, double) { return x * std::fmax(0.0, std::fmin(1.0, x / 6.0 + 0.5)); }, 0, 0, true}},
      {"LeakyRelu", {[](double x, double a, double) { return x >= 0 ? x : a * x; }, 0.01, 0, true}},
      {"Elu", {[](double x, double a, double) { return x >= 0 ? x : a * (std::exp(x) - 1.0); }, 1.0, 0, true}},
      {"Selu",
       {[](double x, double a, double g) { return x > 0 ? g * x : g * a * (std::exp(x) - 1.0); },
        1.67326319217681884765625, 1.05070102214813232421875, true}},
  };
  return ops;
}

Status InferUnary(InferContext& ctx) {
  const UnaryDef& def = UnaryOps().at(ctx.node().op_type);
  DType t = ctx.input_dtype(0);
  if (def.float_only ? !IsFloat(t) : !(IsFloat(t) || IsInteger(t))) {
    return ctx.Invalid("input type {} is not supported by {}", DTypeName(t), ctx.node().op_type);
  }
  ctx.SetOutput(0, t, ctx.input_shape(0));
  return Status::Ok();
}

Status EvalUnary(EvalContext& ctx) {
  const std::string& op = ctx.node().op_type;
  const UnaryDef& def = UnaryOps().at(op);
  // Selu names its second parameter gamma; HardSigmoid and the rest use alpha/beta.
  double a = ctx.attrs().GetFloat("alpha", def.alpha);
  double b = ctx.attrs().GetFloat(op == "Selu" ? "gamma" : "beta", def.beta);
  const Tensor& x = *ctx.input(0);
  Tensor y = ctx.NewOutput(0);
  if (IsInteger(x.dtype())) {
    for (int64_t i = 0; i < x.size(); ++i) {
      int64_t v = x.GetInt(i);
      y.SetInt(i, op == "Neg" ? -v : op == "Abs" ? (v < 0 ? -v : v) : op == "Relu" ? (v > 0 ? v : 0)
                                                                                : (v > 0) - (v < 0));
    }
  } else {
    for (int64_t i = 0; i < x.size(); ++i) y.SetDouble(i, def.fn(x.GetDouble(i), a, b));
  }
  ctx.SetOutput(0, std::move(y));
  return Status::Ok();
}

// ---- binary and variadic ---------------------------------------------------------------------

enum class BinKind { kArith, kCompare, kLogic };

BinKind KindOf(const std::string& op) {
  if (op == "Equal" || op == "Less" || op == "Greater" || op == "LessOrEqual" || op == "GreaterOrEqual") {
    return BinKind::kCompare;
  }
  if (op == "And" || op == "Or" || op == "Xor") return BinKind::kLogic;
  return BinKind::kArith;
}

// Before opset 7, binary operators broadcast B only with broadcast=1, its dims aligned with A's
// starting at `axis` (default: A's trailing dims), and PRelu applied a 1-D slope per channel. The
// shape B has under today's numpy rules (same element order, trailing 1s added).
Shape LegacyShape(const Attributes& attrs, int opset, const std::string& op, const Shape& a, const Shape& b) {
  if (opset >= 7 || b.empty()) return b;
  int64_t axis = -1;
  if (op == "PRelu" && b.size() == 1 && b[0] != 1 && a.size() >= 2) axis = 1;
  if (op != "PRelu" && attrs.GetInt("broadcast", 0) != 0) axis = attrs.GetInt("axis", -1);
  if (axis < 0) return b;  // trailing alignment: numpy rules already do it
  Shape out = b;
  while (static_cast<int64_t>(out.size()) + axis < static_cast<int64_t>(a.size())) out.push_back(1);
  return out;
}

Status InferBroadcast(InferContext& ctx) {
  const std::string& op = ctx.node().op_type;
  Shape out = ctx.input_shape(0);
  DType t = ctx.input_dtype(0);
  for (size_t i = 1; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) continue;
    OPAL_ASSIGN_OR_RETURN(out, BroadcastShapes(out, LegacyShape(ctx.attrs(), ctx.opset(), op, ctx.input_shape(0),
                                                                ctx.input_shape(i))));
    // Pow and PRelu allow a different exponent/slope type in some opsets; the rest must agree.
    if (op != "Pow" && ctx.input_dtype(i) != t) {
      return ctx.Invalid("inputs have different types ({} and {})", DTypeName(t),
                         DTypeName(ctx.input_dtype(i)));
    }
  }
  BinKind k = KindOf(op);
  if (k == BinKind::kLogic && t != DType::kBool) return ctx.Invalid("{} needs bool inputs", op);
  if (k == BinKind::kArith && !(IsFloat(t) || IsInteger(t))) {
    return ctx.Invalid("input type {} is not supported by {}", DTypeName(t), op);
  }
  ctx.SetOutput(0, k == BinKind::kArith ? t : DType::kBool, out);
  return Status::Ok();
}

double ApplyFloat(const std::string& op, double a, double b) {
  switch (op[0]) {
    case 'A': return op == "Add" ? a + b : double(a != 0 && b != 0);  // Add, And
    case 'S': return op == "Sub" ? a - b : a + b;                     // Sub, Sum
    case 'M':
      if (op == "Mul") return a * b;
      if (op == "Mod") return b == 0 ? NAN : a - std::floor(a / b) * b;  // fmod 0: the divisor's sign
      if (op == "ModF") return std::fmod(a, b);                          // fmod 1: the dividend's
      if (op == "Max") return std::isnan(a) || std::isnan(b) ? NAN : std::fmax(a, b);
      if (op == "Min") return std::isnan(a) || std::isnan(b) ? NAN : std::fmin(a, b);
      return a + b;  // Mean accumulates, divided at the end
    case 'D': return a / b;
    case 'P': return op == "Pow" ? std::pow(a, b) : (a < 0 ? a * b : a);  // Pow, PRelu
    case 'E': return double(a == b);
    case 'L': return op == "Less" ? double(a < b) : double(a <= b);
    case 'G': return op == "Greater" ? double(a > b) : double(a >= b);
    case 'O': return double(a != 0 || b != 0);
    case 'X': return double((a != 0) != (b != 0));
  }
  return 0;
}

int64_t ApplyInt(const std::string& op, int64_t a, int64_t b) {
  if (op == "Add" || op == "Sum" || op == "Mean") return a + b;
  if (op == "Sub") return a - b;
  if (op == "Mul") return a * b;
  if (op == "Div") return b == 0 ? 0 : a / b;  // integer division truncates, as onnxruntime does
  if (op == "Mod" || op == "ModF") {
    if (b == 0) return 0;
    const int64_t r = a % b;  // C: the dividend's sign (fmod 1)
    return op == "Mod" && r != 0 && ((r < 0) != (b < 0)) ? r + b : r;
  }
  if (op == "Max") return a > b ? a : b;
  if (op == "Min") return a < b ? a : b;
  if (op == "Pow") {
    int64_t r = 1;
    for (int64_t e = 0; e < b && e < 64; ++e) r *= a;
    return b < 0 ? 0 : r;
  }
  if (op == "PRelu") return a < 0 ? a * b : a;
  return static_cast<int64_t>(ApplyFloat(op, double(a), double(b)));
}

Status EvalBroadcast(EvalContext& ctx) {
  // Mod computes as "Mod" (fmod 0, Python's %) or "ModF" (fmod 1, C's fmod).
  const std::string op = ctx.node().op_type == "Mod" && ctx.attrs().GetInt("fmod", 0) != 0 ? "ModF" : ctx.node().op_type;
  Tensor y = ctx.NewOutput(0);
  const Shape& out = y.shape();
  const Tensor& first = *ctx.input(0);
  bool int_math = IsInteger(first.dtype()) || first.dtype() == DType::kBool;
  std::vector<double> accf;
  std::vector<int64_t> acci;
  auto offs0 = BroadcastOffsets(first.shape(), out);
  const int64_t n = y.size();
  if (int_math) {
    acci.resize(static_cast<size_t>(n));
    for (int64_t e = 0; e < n; ++e) acci[e] = first.GetInt(offs0[e]);
  } else {
    accf.resize(static_cast<size_t>(n));
    for (int64_t e = 0; e < n; ++e) accf[e] = first.GetDouble(offs0[e]);
  }
  int count = 1;
  for (size_t i = 1; i < ctx.num_inputs(); ++i) {
    const Tensor* t = ctx.input(i);
    if (!t) continue;
    ++count;
    auto offs = BroadcastOffsets(LegacyShape(ctx.attrs(), ctx.opset(), op, first.shape(), t->shape()), out);
    for (int64_t e = 0; e < n; ++e) {
      if (int_math) {
        acci[e] = ApplyInt(op, acci[e], t->GetInt(offs[e]));
      } else {
        accf[e] = ApplyFloat(op, accf[e], t->GetDouble(offs[e]));
      }
    }
  }
  for (int64_t e = 0; e < n; ++e) {
    if (int_math) {
      y.SetInt(e, op == "Mean" ? acci[e] / count : acci[e]);
    } else {
      y.SetDouble(e, op == "Mean" ? accf[e] / count : accf[e]);
    }
  }
  ctx.SetOutput(0, std::move(y));
  return Status::Ok();
}

// ---- Where, Clip, Cast, Identity, Dropout ----------------------------------------------------

Status InferWhere(InferContext& ctx) {
  if (ctx.input_dtype(0) != DType::kBool) return ctx.Invalid("condition must be bool");
  if (ctx.input_dtype(1) != ctx.input_dtype(2)) return ctx.Invalid("X and Y have different types");
  OPAL_ASSIGN_OR_RETURN(Shape s, BroadcastShapes(ctx.input_shape(0), ctx.input_shape(1)));
  OPAL_ASSIGN_OR_RETURN(s, BroadcastShapes(s, ctx.input_shape(2)));
  ctx.SetOutput(0, ctx.input_dtype(1), s);
  return Status::Ok();
}

Status EvalWhere(EvalContext& ctx) {
  Tensor y = ctx.NewOutput(0);
  auto oc = BroadcastOffsets(ctx.input(0)->shape(), y.shape());
  auto ox = BroadcastOffsets(ctx.input(1)->shape(), y.shape());
  auto oy = BroadcastOffsets(ctx.input(2)->shape(), y.shape());
  size_t es = DTypeSize(y.dtype());
  for (int64_t e = 0; e < y.size(); ++e) {
    const Tensor* src = ctx.input(0)->GetInt(oc[e]) ? ctx.input(1) : ctx.input(2);
    int64_t off = ctx.input(0)->GetInt(oc[e]) ? ox[e] : oy[e];
    std::memcpy(y.raw() + e * es, src->raw() + off * es, es);
  }
  ctx.SetOutput(0, std::move(y));
  return Status::Ok();
}

Status InferSame(InferContext& ctx) {
  ctx.SetOutput(0, ctx.input_dtype(0), ctx.input_shape(0));
  if (ctx.node().op_type == "Dropout") ctx.SetOutput(1, DType::kBool, ctx.input_shape(0));
  if (ctx.node().op_type == "Clip") {
    for (size_t i = 1; i < 3; ++i) {
      if (ctx.has_input(i) && (ctx.input_rank(i) != 0 && NumElements(ctx.input_shape(i)) != 1)) {
        return ctx.Invalid("min and max must be scalars");
      }
    }
  }
  return Status::Ok();
}

Status EvalIdentity(EvalContext& ctx) {
  ctx.SetOutput(0, *ctx.input(0));
  if (ctx.has_output(1)) {  // Dropout's mask: inference keeps everything
    Tensor mask = ctx.NewOutput(1);
    for (int64_t i = 0; i < mask.size(); ++i) mask.SetInt(i, 1);
    ctx.SetOutput(1, std::move(mask));
  }
  return Status::Ok();
}

// Dropout is the identity in inference mode. In training mode (opset 12+ input, or is_test=0 before
// opset 7) with a non-zero ratio its output is random: it is not folded.
Status EvalDropout(EvalContext& ctx) {
  bool training = ctx.input(2) ? ctx.input(2)->GetInt(0) != 0
                               : ctx.opset() < 7 && ctx.attrs().GetInt("is_test", 0) == 0;
  double ratio = ctx.input(1) ? ctx.input(1)->GetDouble(0) : ctx.attrs().GetFloat("ratio", 0.5);
  if (training && ratio != 0.0) {
    return Error(ErrorCode::kUnsupported, "Dropout in training mode is random");
  }
  return EvalIdentity(ctx);
}

Status EvalClip(EvalContext& ctx) {
  const Tensor& x = *ctx.input(0);
  bool is_int = IsInteger(x.dtype());
  double lo = ctx.attrs().GetFloat("min", -INFINITY), hi = ctx.attrs().GetFloat("max", INFINITY);
  if (ctx.input(1)) lo = ctx.input(1)->GetDouble(0);
  if (ctx.input(2)) hi = ctx.input(2)->GetDouble(0);
  Tensor y = ctx.NewOutput(0);
  for (int64_t i = 0; i < x.size(); ++i) {
    double v = is_int ? double(x.GetInt(i)) : x.GetDouble(i);
    v = std::isnan(v) ? v : std::fmin(std::fmax(v, lo), hi);
    if (is_int) {
      y.SetInt(i, static_cast<int64_t>(v));
    } else {
      y.SetDouble(i, v);
    }
  }
  ctx.SetOutput(0, std::move(y));
  return Status::Ok();
}

Status InferCast(InferContext& ctx) {
  if (!ctx.attrs().Has("to")) return ctx.Invalid("attribute 'to' is required");
  OPAL_ASSIGN_OR_RETURN(DType to, DTypeFromOnnx(static_cast<int>(ctx.attrs().GetInt("to", 0))));
  ctx.SetOutput(0, to, ctx.input_shape(0));
  return Status::Ok();
}

Status EvalCast(EvalContext& ctx) {
  const Tensor& x = *ctx.input(0);
  Tensor y = ctx.NewOutput(0);
  if (x.dtype() == DType::kString || y.dtype() == DType::kString) {
    return Error(ErrorCode::kUnsupported, "casting strings is not supported");
  }
  bool exact_int = (IsInteger(x.dtype()) || x.dtype() == DType::kBool) && !IsFloat(y.dtype());
  for (int64_t i = 0; i < x.size(); ++i) {
    if (exact_int) {
      y.SetInt(i, x.GetInt(i));
    } else {
      y.SetDouble(i, x.GetDouble(i));
    }
  }
  ctx.SetOutput(0, std::move(y));
  return Status::Ok();
}

}  // namespace

void RegisterElementwiseOps(OpRegistry& r) {
  for (const auto& [name, def] : UnaryOps()) {
    OpSchema s{name, 1, 1, 1, 1, {{"alpha", K::kFloat}, {"beta", K::kFloat}, {"gamma", K::kFloat}},
               InferUnary, EvalUnary};
    r.Add(std::move(s));
  }
  r.Add({"Not", 1, 1, 1, 1, {}, InferSame, [](EvalContext& ctx) {
           Tensor y = ctx.NewOutput(0);
           for (int64_t i = 0; i < y.size(); ++i) y.SetInt(i, !ctx.input(0)->GetInt(i));
           ctx.SetOutput(0, std::move(y));
           return Status::Ok();
         }});
  for (const char* op : {"Add", "Sub", "Mul", "Div", "Pow", "PRelu", "Equal", "Less", "Greater",
                         "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor"}) {
    r.Add({op, 2, 2, 1, 1, {}, InferBroadcast, EvalBroadcast});
  }
  for (const char* op : {"Max", "Min", "Sum", "Mean"}) {
    r.Add({op, 1, -1, 1, 1, {}, InferBroadcast, EvalBroadcast});
  }
  r.Add({"Mod", 2, 2, 1, 1, {{"fmod", K::kInt}}, InferBroadcast, EvalBroadcast});
  r.Add({"Where", 3, 3, 1, 1, {}, InferWhere, EvalWhere});
  r.Add({"Clip", 1, 3, 1, 1, {{"min", K::kFloat}, {"max", K::kFloat}}, InferSame, EvalClip});
  r.Add({"Cast", 1, 1, 1, 1, {{"to", K::kInt}}, InferCast, EvalCast});
  r.Add({"Identity", 1, 1, 1, 1, {}, InferSame, EvalIdentity});
  r.Add({"Dropout", 1, 3, 1, 2, {{"ratio", K::kFloat}, {"seed", K::kInt}}, InferSame, EvalDropout});
}

}  // namespace opal::graph
