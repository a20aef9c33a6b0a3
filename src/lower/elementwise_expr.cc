#include "lower/elementwise_expr.h"

#include <cmath>
#include <functional>
#include <map>

#include "lower/lowering.h"
#include "lower/lower_util.h"

namespace opal::lower {
namespace {

using Halide::Expr;
using Halide::select;

// A constant of type t.
Expr K(const Halide::Type& t, double v) { return Halide::cast(t, Expr(v)); }

// Float math on any float type; Halide's erf exists for Float(32) only.
Expr Erf(const Expr& x) {
  if (x.type() == Halide::Float(32)) return Halide::erf(x);
  return Halide::cast(x.type(), Halide::erf(Halide::cast(Halide::Float(32), x)));
}

// A float attribute as a constant of type t.
Expr Attr(const Attributes& a, const Halide::Type& t, const char* name, double dflt) {
  return K(t, a.GetFloat(name, dflt));
}

using Unary = std::function<Expr(const Attributes&, const Expr&)>;

const std::map<std::string, Unary>& UnaryOps() {
  static const std::map<std::string, Unary> ops = {
      {"Sqrt", [](auto&, const Expr& x) { return Halide::sqrt(x); }},
      {"Reciprocal", [](auto&, const Expr& x) { return K(x.type(), 1) / x; }},
      {"Erf", [](auto&, const Expr& x) { return Erf(x); }},
      {"Relu", [](auto&, const Expr& x) { return Halide::max(x, K(x.type(), 0)); }},
      {"Exp", [](auto&, const Expr& x) { return Halide::exp(x); }},
      {"Log", [](auto&, const Expr& x) { return Halide::log(x); }},
      {"Tanh", [](auto&, const Expr& x) { return Halide::tanh(x); }},
      {"Sigmoid",
       [](auto&, const Expr& x) { return K(x.type(), 1) / (K(x.type(), 1) + Halide::exp(-x)); }},
      {"Neg", [](auto&, const Expr& x) { return -x; }},
      {"Abs", [](auto&, const Expr& x) { return Halide::cast(x.type(), Halide::abs(x)); }},
      {"Floor", [](auto&, const Expr& x) { return x.type().is_float() ? Halide::floor(x) : x; }},
      {"Ceil", [](auto&, const Expr& x) { return x.type().is_float() ? Halide::ceil(x) : x; }},
      {"Round", [](auto&, const Expr& x) { return x.type().is_float() ? Halide::round(x) : x; }},
      {"Sign",
       [](auto&, const Expr& x) {
         const auto t = x.type();
         return select(x > K(t, 0), K(t, 1), x < K(t, 0), K(t, -1), K(t, 0));
       }},
      {"Sin", [](auto&, const Expr& x) { return Halide::sin(x); }},
      {"Cos", [](auto&, const Expr& x) { return Halide::cos(x); }},
      {"Tan", [](auto&, const Expr& x) { return Halide::tan(x); }},
      {"Asin", [](auto&, const Expr& x) { return Halide::asin(x); }},
      {"Acos", [](auto&, const Expr& x) { return Halide::acos(x); }},
      {"Atan", [](auto&, const Expr& x) { return Halide::atan(x); }},
      {"Sinh", [](auto&, const Expr& x) { return Halide::sinh(x); }},
      {"Cosh", [](auto&, const Expr& x) { return Halide::cosh(x); }},
      {"Asinh", [](auto&, const Expr& x) { return Halide::asinh(x); }},
      {"Acosh", [](auto&, const Expr& x) { return Halide::acosh(x); }},
      {"Atanh", [](auto&, const Expr& x) { return Halide::atanh(x); }},
      {"Not", [](auto&, const Expr& x) { return x == K(x.type(), 0); }},
      {"IsNaN", [](auto&, const Expr& x) { return Halide::is_nan(x); }},
      {"IsInf",
       [](const Attributes& a, const Expr& x) {
         const bool pos = a.GetInt("detect_positive", 1) != 0;
         const bool neg = a.GetInt("detect_negative", 1) != 0;
         const Expr zero = K(x.type(), 0);
         return Halide::is_inf(x) && ((x > zero && pos) || (x < zero && neg));
       }},
      {"LeakyRelu",
       [](const Attributes& a, const Expr& x) {
         return select(x >= K(x.type(), 0), x, Attr(a, x.type(), "alpha", 0.01) * x);
       }},
      {"Elu",
       [](const Attributes& a, const Expr& x) {
         const Expr al = Attr(a, x.type(), "alpha", 1.0);
         return select(x >= K(x.type(), 0), x, al * (Halide::exp(x) - K(x.type(), 1)));
       }},
      {"Celu",
       [](const Attributes& a, const Expr& x) {
         const Expr al = Attr(a, x.type(), "alpha", 1.0), z = K(x.type(), 0);
         return Halide::max(z, x) + Halide::min(z, al * (Halide::exp(x / al) - K(x.type(), 1)));
       }},
      {"Selu",
       [](const Attributes& a, const Expr& x) {
         const Expr al = Attr(a, x.type(), "alpha", 1.67326319217681884765625);
         const Expr g = Attr(a, x.type(), "gamma", 1.05070102519989013671875);
         return g * select(x > K(x.type(), 0), x, al * Halide::exp(x) - al);
       }},
      {"HardSigmoid",
       [](const Attributes& a, const Expr& x) {
         const Expr y = Attr(a, x.type(), "alpha", 0.2) * x + Attr(a, x.type(), "beta", 0.5);
         return Halide::clamp(y, K(x.type(), 0), K(x.type(), 1));
       }},
      {"HardSwish",
       [](auto&, const Expr& x) {
         return x * Halide::clamp(x / K(x.type(), 6) + K(x.type(), 0.5), K(x.type(), 0),
                                  K(x.type(), 1));
       }},
      {"Softplus",
       [](auto&, const Expr& x) {
         const Expr z = K(x.type(), 0);
         return Halide::max(x, z) + Halide::log(K(x.type(), 1) + Halide::exp(-Halide::abs(x)));
       }},
      {"Softsign", [](auto&, const Expr& x) { return x / (K(x.type(), 1) + Halide::abs(x)); }},
      {"ThresholdedRelu",
       [](const Attributes& a, const Expr& x) {
         return select(x > Attr(a, x.type(), "alpha", 1.0), x, K(x.type(), 0));
       }},
      {"Shrink",
       [](const Attributes& a, const Expr& x) {
         const Expr l = Attr(a, x.type(), "lambd", 0.5), bias = Attr(a, x.type(), "bias", 0.0);
         return select(x<-l, x + bias, x> l, x - bias, K(x.type(), 0));
       }},
      {"Gelu",
       [](const Attributes& a, const Expr& x) {
         const auto t = x.type();
         if (a.GetString("approximate", "none") == "tanh") {
           const Expr inner = K(t, std::sqrt(2.0 / M_PI)) * (x + K(t, 0.044715) * x * x * x);
           return K(t, 0.5) * x * (K(t, 1) + Halide::tanh(inner));
         }
         return K(t, 0.5) * x * (K(t, 1) + Erf(x * K(t, M_SQRT1_2)));
       }},
      {"Cast", [](auto&, const Expr& x) { return x; }},
      {"CastLike", [](auto&, const Expr& x) { return x; }},
      {"Identity", [](auto&, const Expr& x) { return x; }},
      {"Dropout", [](auto&, const Expr& x) { return x; }},
      {"Expand", [](auto&, const Expr& x) { return x; }},
  };
  return ops;
}

const std::vector<std::string>& NaryOps() {
  static const std::vector<std::string> ops = {
      "Add",  "Sub",   "Mul",          "Div",   "Pow",       "Mod",  "BitShift", "PRelu",
      "And",  "Or",    "Xor",          "Equal", "Less",      "Greater", "LessOrEqual",
      "GreaterOrEqual", "Max", "Min",  "Sum",   "Mean",      "Where", "Clip"};
  return ops;
}

Expr IsTrue(const Expr& x) { return x.type().is_bool() ? x : x != K(x.type(), 0); }

// Python-style (fmod=0: sign of the divisor) or C-style (fmod=1) remainder.
Expr Mod(const Expr& a, const Expr& b, bool fmod) {
  const auto t = a.type();
  if (t.is_float()) {
    if (fmod) return a - b * Halide::trunc(a / b);
    const Expr r = a - b * Halide::trunc(a / b);
    return select(r != K(t, 0) && ((r < K(t, 0)) != (b < K(t, 0))), r + b, r);
  }
  if (t.is_uint()) return a % b;
  if (fmod) return Halide::mod_round_to_zero(a, b);
  const Expr e = a % b;  // Euclidean: in [0, |b|)
  return select(e != K(t, 0) && b < K(t, 0), e + b, e);
}

Result<Expr> Binary(const Node& n, const std::string& op, Expr x, Expr y) {
  const auto t = x.type();
  if (op == "Pow") {
    if (t.is_float()) {
      if (const auto* imm = Halide::Internal::as_const_float(y)) {
        if (*imm == 2.0) return x * x;  // LayerNorm's variance: no pow() call per element
        if (*imm == 1.0) return x;
        if (*imm == 0.5) return Halide::sqrt(x);
      }
      return Halide::pow(x, Halide::cast(t, y));
    }
    return Halide::cast(t, Halide::round(Halide::pow(Halide::cast(Halide::Float(64), x),
                                                     Halide::cast(Halide::Float(64), y))));
  }
  if (op == "PRelu") return select(x < K(t, 0), Halide::cast(t, y) * x, x);
  if (op == "Mod") return Mod(x, y, n.attrs.GetInt("fmod", 0) != 0);
  if (op == "BitShift") return n.attrs.GetString("direction", "") == "LEFT" ? x << y : x >> y;
  if (op == "And") return IsTrue(x) && IsTrue(y);
  if (op == "Or") return IsTrue(x) || IsTrue(y);
  if (op == "Xor") return IsTrue(x) != IsTrue(y);
  if (op == "Equal") return x == y;
  if (op == "Less") return x < y;
  if (op == "Greater") return x > y;
  if (op == "LessOrEqual") return x <= y;
  if (op == "GreaterOrEqual") return x >= y;
  if (y.type() != t) y = Halide::cast(t, y);
  if (op == "Add" || op == "Sum" || op == "Mean") return x + y;
  if (op == "Sub") return x - y;
  if (op == "Mul") return x * y;
  if (op == "Div") return t.is_int() ? Halide::div_round_to_zero(x, y) : x / y;
  if (op == "Max") return Halide::max(x, y);
  if (op == "Min") return Halide::min(x, y);
  return Error(ErrorCode::kUnsupported, "{}: operator {} is not supported by the lowering", n.Describe(), op);
}

// A bound of Clip: opset < 11 attributes; later an optional scalar input.
Result<Expr> ClipBound(const Graph& g, const Node& n, const std::vector<Expr>& in, size_t i, const Halide::Type& t,
                       bool low) {
  if (g.opset < 11) {
    const double big = std::numeric_limits<float>::max();
    return K(t, n.attrs.GetFloat(low ? "min" : "max", low ? -big : big));
  }
  if (i >= n.inputs.size() || n.inputs[i] == kNoValue) return low ? LowestOf(t) : HighestOf(t);
  if (NumElements(g.value(n.inputs[i]).shape) != 1)
    return Error(ErrorCode::kUnsupported, "{}: a Clip bound that is not a scalar is not supported by the lowering",
                 n.Describe());
  return Halide::cast(t, in[i]);
}

bool Listed(const std::string& op) {
  if (UnaryOps().count(op)) return true;
  for (const auto& o : NaryOps())
    if (o == op) return true;
  return false;
}

}  // namespace

bool IsPointwiseNode(const Graph& g, const Node& n) {
  if (!n.domain.empty() && n.domain != "ai.onnx") return false;
  if (!n.supported || !Listed(n.op_type) || n.outputs.size() != 1 || n.outputs[0] == kNoValue) return false;
  if (n.inputs.empty() || n.inputs[0] == kNoValue) return false;
  if (n.op_type == "Dropout" && !DropoutPassesThrough(g, n)) return false;
  const Value& out = g.value(n.outputs[0]);
  if (!out.shape_known || !HalideTypeOf(out.dtype).ok()) return false;
  for (ValueId id : n.inputs) {
    if (id == kNoValue) continue;
    const Value& v = g.value(id);
    if (!v.shape_known || !HalideTypeOf(v.dtype).ok() || v.shape.size() > out.shape.size()) return false;
  }
  if (n.op_type == "Erf" && !IsFloat(g.value(n.inputs[0]).dtype)) return false;
  if (n.op_type == "Clip" && g.opset >= 11) {
    for (size_t i = 1; i < n.inputs.size() && i < 3; ++i)
      if (n.inputs[i] != kNoValue && NumElements(g.value(n.inputs[i]).shape) != 1) return false;
  }
  for (size_t i : PointwiseDataInputs(n)) {  // every data operand broadcasts into the output
    const Shape& s = g.value(n.inputs[i]).shape;
    const Shape& o = out.shape;
    for (size_t j = 0; j < s.size(); ++j)
      if (s[j] != 1 && s[j] != o[o.size() - s.size() + j]) return false;
  }
  return true;
}

std::vector<size_t> PointwiseDataInputs(const Node& n) {
  std::vector<size_t> idx;
  const bool unary = UnaryOps().count(n.op_type) > 0;
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    if (n.inputs[i] == kNoValue || (unary && i > 0)) continue;
    idx.push_back(i);
  }
  return idx;
}

Expr ScalarConstant(const Graph& g, ValueId id) {
  if (id == kNoValue) return Expr();
  const Value& v = g.value(id);
  if (!v.constant || v.constant->size() != 1) return Expr();
  Result<Halide::Type> t = HalideTypeOf(v.dtype);
  if (!t.ok()) return Expr();
  if (t->is_float()) return Halide::cast(*t, Expr(v.constant->GetDouble(0)));
  if (v.dtype == DType::kBool) return Halide::cast(Halide::UInt(8), Expr(v.constant->GetInt(0) != 0 ? 1 : 0));
  return Halide::cast(*t, Expr(v.constant->GetInt(0)));
}

Result<Expr> PointwiseExpr(const Graph& g, const Node& n, const std::vector<Expr>& in) {
  const std::string& op = n.op_type;
  const DType out_dtype = g.value(n.outputs[0]).dtype;
  auto arg = [&](size_t i) -> Result<Expr> {
    if (i >= in.size() || !in[i].defined())
      return Error(ErrorCode::kInvalidModel, "{}: input {} is missing", n.Describe(), i);
    return in[i];
  };
  Expr e;
  if (auto it = UnaryOps().find(op); it != UnaryOps().end()) {
    OPAL_ASSIGN_OR_RETURN(Expr x, arg(0));
    if (op == "Erf" && !x.type().is_float())
      return Error(ErrorCode::kUnsupported, "{}: Erf of integers is not supported by the lowering", n.Describe());
    e = it->second(n.attrs, x);
  } else if (op == "Where") {
    OPAL_ASSIGN_OR_RETURN(Expr c, arg(0));
    OPAL_ASSIGN_OR_RETURN(Expr x, arg(1));
    OPAL_ASSIGN_OR_RETURN(Expr y, arg(2));
    e = select(IsTrue(c), x, y);
  } else if (op == "Clip") {
    OPAL_ASSIGN_OR_RETURN(Expr x, arg(0));
    OPAL_ASSIGN_OR_RETURN(Expr lo, ClipBound(g, n, in, 1, x.type(), true));
    OPAL_ASSIGN_OR_RETURN(Expr hi, ClipBound(g, n, in, 2, x.type(), false));
    e = Halide::min(Halide::max(x, lo), hi);
  } else {
    size_t count = 0;
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      if (n.inputs[i] == kNoValue) continue;
      OPAL_ASSIGN_OR_RETURN(Expr x, arg(i));
      if (count++ == 0) {
        e = x;
      } else {
        OPAL_ASSIGN_OR_RETURN(e, Binary(n, op, e, x));
      }
    }
    if (op == "Mean") e = e / K(e.type(), static_cast<double>(count));
  }
  return CastTo(out_dtype, e);
}

}  // namespace opal::lower
