#include "lower/lower_elementwise.h"

#include <cmath>
#include <functional>
#include <map>

namespace opal::lower {
namespace {

using Halide::Expr;
using Halide::Func;
using Halide::select;

// A constant of type t.
Expr K(const Halide::Type& t, double v) { return Halide::cast(t, Expr(v)); }

// Float math on any float type; Halide's erf exists for Float(32) only.
Expr Erf(const Expr& x) {
  if (x.type() == Halide::Float(32)) return Halide::erf(x);
  return Halide::cast(x.type(), Halide::erf(Halide::cast(Halide::Float(32), x)));
}

// Reads a float attribute as a constant of type t.
Expr Attr(const KernelBuilder& b, const Halide::Type& t, const char* name, double dflt) {
  return K(t, b.attrs().GetFloat(name, dflt));
}

using Unary = std::function<Expr(const KernelBuilder&, const Expr&)>;

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
       [](const KernelBuilder& b, const Expr& x) {
         const bool pos = b.attrs().GetInt("detect_positive", 1) != 0;
         const bool neg = b.attrs().GetInt("detect_negative", 1) != 0;
         const Expr zero = K(x.type(), 0);
         return Halide::is_inf(x) && ((x > zero && pos) || (x < zero && neg));
       }},
      {"LeakyRelu",
       [](const KernelBuilder& b, const Expr& x) {
         return select(x >= K(x.type(), 0), x, Attr(b, x.type(), "alpha", 0.01) * x);
       }},
      {"Elu",
       [](const KernelBuilder& b, const Expr& x) {
         const Expr a = Attr(b, x.type(), "alpha", 1.0);
         return select(x >= K(x.type(), 0), x, a * (Halide::exp(x) - K(x.type(), 1)));
       }},
      {"Celu",
       [](const KernelBuilder& b, const Expr& x) {
         const Expr a = Attr(b, x.type(), "alpha", 1.0), z = K(x.type(), 0);
         return Halide::max(z, x) + Halide::min(z, a * (Halide::exp(x / a) - K(x.type(), 1)));
       }},
      {"Selu",
       [](const KernelBuilder& b, const Expr& x) {
         const Expr a = Attr(b, x.type(), "alpha", 1.67326319217681884765625);
         const Expr g = Attr(b, x.type(), "gamma", 1.05070102519989013671875);
         return g * select(x > K(x.type(), 0), x, a * Halide::exp(x) - a);
       }},
      {"HardSigmoid",
       [](const KernelBuilder& b, const Expr& x) {
         const Expr y = Attr(b, x.type(), "alpha", 0.2) * x + Attr(b, x.type(), "beta", 0.5);
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
       [](const KernelBuilder& b, const Expr& x) {
         return select(x > Attr(b, x.type(), "alpha", 1.0), x, K(x.type(), 0));
       }},
      {"Shrink",
       [](const KernelBuilder& b, const Expr& x) {
         const Expr l = Attr(b, x.type(), "lambd", 0.5), bias = Attr(b, x.type(), "bias", 0.0);
         return select(x<-l, x + bias, x> l, x - bias, K(x.type(), 0));
       }},
      {"Gelu",
       [](const KernelBuilder& b, const Expr& x) {
         const auto t = x.type();
         if (b.attrs().GetString("approximate", "none") == "tanh") {
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

Result<Expr> Binary(const KernelBuilder& b, const std::string& op, Expr x, Expr y) {
  const auto t = x.type();
  if (op == "Pow") {
    if (t.is_float()) return Halide::pow(x, Halide::cast(t, y));
    return Halide::cast(t, Halide::round(Halide::pow(Halide::cast(Halide::Float(64), x),
                                                     Halide::cast(Halide::Float(64), y))));
  }
  if (op == "PRelu") return select(x < K(t, 0), Halide::cast(t, y) * x, x);
  if (op == "Mod") return Mod(x, y, b.attrs().GetInt("fmod", 0) != 0);
  if (op == "BitShift") {
    return b.attrs().GetString("direction", "") == "LEFT" ? x << y : x >> y;
  }
  if (op == "And") return IsTrue(x) && IsTrue(y);
  if (op == "Or") return IsTrue(x) || IsTrue(y);
  if (op == "Xor") return IsTrue(x) != IsTrue(y);
  if (op == "Equal") return x == y;
  if (op == "Less") return x < y;
  if (op == "Greater") return x > y;
  if (op == "LessOrEqual") return x <= y;
  if (op == "GreaterOrEqual") return x >= y;
  if (op == "Add" || op == "Sum" || op == "Mean") return x + y;
  if (op == "Sub") return x - y;
  if (op == "Mul") return x * y;
  if (op == "Div") return t.is_int() ? Halide::div_round_to_zero(x, y) : x / y;
  if (op == "Max") return Halide::max(x, y);
  if (op == "Min") return Halide::min(x, y);
  return b.Unsupported("operator " + op);
}

// A scalar bound of Clip: build-time constant when possible, else a runtime param.
Result<Expr> ClipBound(KernelBuilder& b, size_t i, const Halide::Type& t, bool low) {
  if (b.opset() < 11) {
    const double big = std::numeric_limits<float>::max();
    return K(t, b.attrs().GetFloat(low ? "min" : "max", low ? -big : big));
  }
  if (!b.HasInput(i)) return low ? LowestOf(t) : HighestOf(t);
  if (const Tensor* c = b.Constant(i)) {
    if (c->size() != 1) return b.Unsupported("a Clip bound that is not a scalar");
    return K(t, c->GetDouble(0));
  }
  OPAL_ASSIGN_OR_RETURN(TensorRef r, b.Input(i));
  if (NumElements(r.shape) != 1) return b.Unsupported("a Clip bound that is not a scalar");
  return r(std::vector<Expr>(r.shape.size(), Expr(0)));
}

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
  const Expr eps = Attr(b, t, "epsilon", 1e-5);
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

}  // namespace

const std::vector<std::string>& ElementwiseOps() {
  static const std::vector<std::string> ops = [] {
    std::vector<std::string> v = {"Add",
                                  "Sub",
                                  "Mul",
                                  "Div",
                                  "Pow",
                                  "Mod",
                                  "BitShift",
                                  "PRelu",
                                  "And",
                                  "Or",
                                  "Xor",
                                  "Equal",
                                  "Less",
                                  "Greater",
                                  "LessOrEqual",
                                  "GreaterOrEqual",
                                  "Max",
                                  "Min",
                                  "Sum",
                                  "Mean",
                                  "Where",
                                  "Clip",
                                  "BatchNormalization",
                                  "QuantizeLinear",
                                  "DequantizeLinear"};
    for (const auto& [name, fn] : UnaryOps()) v.push_back(name);
    return v;
  }();
  return ops;
}

Result<KernelDef> LowerElementwise(KernelBuilder& b) {
  b.set_kind("elementwise");
  const std::string& op = b.node().op_type;
  const DType out_dtype = b.OutValue(0).dtype;
  if (!HalideTypeOf(out_dtype).ok()) {
    return b.Unsupported(fmt::format("output type {}", DTypeName(out_dtype)));
  }
  if (op == "Dropout" && b.HasInput(2) &&
      (!b.Constant(2) || b.Constant(2)->size() != 1 || b.Constant(2)->GetInt(0) != 0)) {
    return b.Unsupported("Dropout in training mode");
  }
  const auto vars = MakeVars(static_cast<int>(b.OutShape(0).size()));
  const auto idx = AsExprs(vars);
  auto in = [&](size_t i) -> Result<Expr> {
    OPAL_ASSIGN_OR_RETURN(TensorRef r, b.Input(i));
    return r.Broadcast(idx);
  };

  Expr e;
  if (auto it = UnaryOps().find(op); it != UnaryOps().end()) {
    OPAL_ASSIGN_OR_RETURN(Expr x, in(0));
    if (op == "Erf" && !x.type().is_float()) return b.Unsupported("Erf of integers");
    e = it->second(b, x);
  } else if (op == "Where") {
    OPAL_ASSIGN_OR_RETURN(Expr c, in(0));
    OPAL_ASSIGN_OR_RETURN(Expr x, in(1));
    OPAL_ASSIGN_OR_RETURN(Expr y, in(2));
    e = select(IsTrue(c), x, y);
  } else if (op == "Clip") {
    OPAL_ASSIGN_OR_RETURN(Expr x, in(0));
    OPAL_ASSIGN_OR_RETURN(Expr lo, ClipBound(b, 1, x.type(), true));
    OPAL_ASSIGN_OR_RETURN(Expr hi, ClipBound(b, 2, x.type(), false));
    e = Halide::min(Halide::max(x, lo), hi);
  } else if (op == "QuantizeLinear" || op == "DequantizeLinear") {
    OPAL_ASSIGN_OR_RETURN(e, Quantize(b, idx));
  } else if (op == "BatchNormalization") {
    OPAL_ASSIGN_OR_RETURN(e, BatchNorm(b, idx));
  } else {
    size_t count = 0;
    for (size_t i = 0; i < b.node().inputs.size(); ++i) {
      if (!b.HasInput(i)) continue;
      OPAL_ASSIGN_OR_RETURN(Expr x, in(i));
      if (count++ == 0) {
        e = x;
      } else {
        OPAL_ASSIGN_OR_RETURN(e, Binary(b, op, e, x));
      }
    }
    if (op == "Mean") e = e / K(e.type(), static_cast<double>(count));
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
