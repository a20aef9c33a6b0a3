// Operators that create tensors: Constant, ConstantOfShape, Range.
#include <cmath>

#include "graph/ops/op_util.h"

namespace opal::graph {
namespace {

using K = Attribute::Kind;

// ---- Constant ----------------------------------------------------------------------------------

// The value a Constant node holds, built from whichever value attribute it has.
Result<Tensor> ConstantValue(const Attributes& attrs) {
  int present = 0;
  for (const char* name : {"value", "value_float", "value_floats", "value_int", "value_ints",
                           "value_string", "value_strings", "sparse_value"}) {
    present += attrs.Has(name) ? 1 : 0;
  }
  if (present != 1) {
    return Error(ErrorCode::kInvalidModel, "Constant needs exactly one value attribute, has {}",
                 present);
  }
  if (const Attribute* a = attrs.Find("value")) {
    if (!a->t) return Error(ErrorCode::kInvalidModel, "attribute 'value' holds no tensor");
    return *a->t;
  }
  if (const Attribute* a = attrs.Find("value_float")) return Tensor::Scalar(DType::kFloat32, a->f);
  if (const Attribute* a = attrs.Find("value_int")) return Tensor::FromInt64({a->i}, {});
  if (const Attribute* a = attrs.Find("value_ints")) {
    return Tensor::FromInt64(a->ints, {static_cast<int64_t>(a->ints.size())});
  }
  if (const Attribute* a = attrs.Find("value_floats")) {
    std::vector<float> f(a->floats.begin(), a->floats.end());
    return Tensor::FromFloat(f, {static_cast<int64_t>(f.size())});
  }
  return Error(ErrorCode::kUnsupported, "Constant with a string or sparse value is not supported");
}

Status InferConstant(InferContext& ctx) {
  const Attribute* a = ctx.attrs().Find("value");
  if (a && a->t && ctx.attrs().all().size() == 1) {  // the common case, without copying the tensor
    ctx.SetOutput(0, a->t->dtype(), a->t->shape());
    return Status::Ok();
  }
  OPAL_ASSIGN_OR_RETURN(Tensor t, ConstantValue(ctx.attrs()));
  ctx.SetOutput(0, t.dtype(), t.shape());
  return Status::Ok();
}

Status EvalConstant(EvalContext& ctx) {
  OPAL_ASSIGN_OR_RETURN(Tensor t, ConstantValue(ctx.attrs()));
  ctx.SetOutput(0, std::move(t));
  return Status::Ok();
}

// ---- ConstantOfShape ---------------------------------------------------------------------------

// The fill value: attribute 'value' (one element of any type; a string one is never folded, as
// string outputs are not), float32 0 by default.
Result<Tensor> FillValue(const Attributes& attrs) {
  const Attribute* a = attrs.Find("value");
  if (!a) return Tensor::Scalar(DType::kFloat32, 0.0);
  if (!a->t || a->t->size() != 1) {
    return Error(ErrorCode::kInvalidModel, "attribute 'value' must hold exactly one element");
  }
  return *a->t;
}

Status InferConstantOfShape(InferContext& ctx) {
  if (ctx.input_rank(0) != 1) {
    return ctx.Invalid("shape must be 1-D, is {}", ShapeToString(ctx.input_shape(0)));
  }
  OPAL_ASSIGN_OR_RETURN(auto shape, ConstantInts(ctx, 0, "shape"));
  for (int64_t d : shape) {
    if (d < 0) return ctx.Invalid("shape {} has a negative dimension", IntsToString(shape));
  }
  OPAL_ASSIGN_OR_RETURN(Tensor fill, FillValue(ctx.attrs()));
  ctx.SetOutput(0, fill.dtype(), shape);
  return Status::Ok();
}

Status EvalConstantOfShape(EvalContext& ctx) {
  OPAL_ASSIGN_OR_RETURN(Tensor fill, FillValue(ctx.attrs()));
  Tensor y = ctx.NewOutput(0);
  for (int64_t e = 0; e < y.size(); ++e) CopyElement(fill, 0, y, e);
  ctx.SetOutput(0, std::move(y));
  return Status::Ok();
}

// ---- Range -------------------------------------------------------------------------------------

// Number of elements of Range(start, limit, delta): max(ceil((limit - start) / delta), 0).
Result<int64_t> RangeCount(const Tensor& start, const Tensor& limit, const Tensor& delta) {
  if (IsInteger(start.dtype())) {
    const int64_t s = start.GetInt(0), l = limit.GetInt(0), d = delta.GetInt(0);
    if (d == 0) return Error(ErrorCode::kInvalidModel, "delta must not be 0");
    const int64_t span = l - s;
    if ((span > 0) != (d > 0) || span == 0) return int64_t{0};
    return span / d + (span % d != 0 ? 1 : 0);
  }
  const double s = start.GetDouble(0), l = limit.GetDouble(0), d = delta.GetDouble(0);
  if (d == 0 || !std::isfinite(s) || !std::isfinite(l) || !std::isfinite(d)) {
    return Error(ErrorCode::kInvalidModel, "Range({}, {}, {}) has no finite length", s, l, d);
  }
  double n = std::ceil((l - s) / d);
  if (n > 9e15)
    return Error(ErrorCode::kInvalidModel, "Range({}, {}, {}) is absurdly long", s, l, d);
  return static_cast<int64_t>(std::max(n, 0.0));
}

Status InferRange(InferContext& ctx) {
  const DType t = ctx.input_dtype(0);
  const char* names[] = {"start", "limit", "delta"};
  for (size_t i = 0; i < 3; ++i) {
    if (ctx.input_dtype(i) != t) {
      return ctx.Invalid("{} is {}, start is {}", names[i], DTypeName(ctx.input_dtype(i)),
                         DTypeName(t));
    }
    if (NumElements(ctx.input_shape(i)) != 1 || ctx.input_rank(i) > 1) {
      return ctx.Invalid("{} must be a scalar, has shape {}", names[i],
                         ShapeToString(ctx.input_shape(i)));
    }
    if (!ctx.input_constant(i)) {
      return ctx.Unsupported(
          "{} input '{}' is computed at run time; opal needs it to be a constant to know the "
          "output shape",
          names[i], ctx.input(i).name);
    }
  }
  if (!IsFloat(t) && !IsInteger(t)) return ctx.Invalid("Range does not support {}", DTypeName(t));
  OPAL_ASSIGN_OR_RETURN(int64_t n, RangeCount(*ctx.input_constant(0), *ctx.input_constant(1),
                                              *ctx.input_constant(2)));
  ctx.SetOutput(0, t, {n});
  return Status::Ok();
}

Status EvalRange(EvalContext& ctx) {
  const Tensor& start = *ctx.input(0);
  const Tensor& delta = *ctx.input(2);
  Tensor y = ctx.NewOutput(0);
  for (int64_t i = 0; i < y.size(); ++i) {
    if (IsInteger(y.dtype())) {
      y.SetInt(i, start.GetInt(0) + i * delta.GetInt(0));
    } else {
      y.SetDouble(i, start.GetDouble(0) + static_cast<double>(i) * delta.GetDouble(0));
    }
  }
  ctx.SetOutput(0, std::move(y));
  return Status::Ok();
}

}  // namespace

void RegisterConstantOps(OpRegistry& r) {
  r.Add({"Constant",
         0,
         0,
         1,
         1,
         {{"value", K::kTensor},
          {"value_float", K::kFloat},
          {"value_floats", K::kFloats},
          {"value_int", K::kInt},
          {"value_ints", K::kInts}},
         InferConstant,
         EvalConstant});
  r.Add({"ConstantOfShape",
         1,
         1,
         1,
         1,
         {{"value", K::kTensor}},
         InferConstantOfShape,
         EvalConstantOfShape});
  r.Add({"Range", 3, 3, 1, 1, {}, InferRange, EvalRange});
}

}  // namespace opal::graph
