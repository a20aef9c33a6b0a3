#include "graph/ops/op_util.h"

#include <algorithm>

namespace opal::graph {

Result<Shape> BroadcastShapes(const Shape& a, const Shape& b) {
  size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (size_t i = 0; i < r; ++i) {
    int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da != db && da != 1 && db != 1) {
      return Error(ErrorCode::kInvalidModel, "shapes {} and {} cannot be broadcast together",
                   ShapeToString(a), ShapeToString(b));
    }
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Result<int64_t> NormalizeAxis(int64_t axis, int64_t rank, const char* what) {
  if (axis < -rank || axis >= std::max<int64_t>(rank, 1)) {
    if (!(rank == 0 && (axis == 0 || axis == -1))) {
      return Error(ErrorCode::kInvalidModel, "{} {} is out of range for rank {}", what, axis, rank);
    }
  }
  return axis < 0 ? axis + rank : axis;
}

std::vector<int64_t> Strides(const Shape& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (size_t i = shape.size(); i-- > 1;) s[i - 1] = s[i] * shape[i];
  return s;
}

std::vector<int64_t> BroadcastOffsets(const Shape& in_shape, const Shape& out_shape) {
  const size_t r = out_shape.size();
  const size_t off = r - in_shape.size();
  std::vector<int64_t> in_strides = Strides(in_shape);
  // Stride per output dim into the input: 0 where the input broadcasts.
  std::vector<int64_t> st(r, 0);
  for (size_t i = 0; i < in_shape.size(); ++i) st[off + i] = in_shape[i] == 1 ? 0 : in_strides[i];
  int64_t n = NumElements(out_shape);
  std::vector<int64_t> out(static_cast<size_t>(n));
  std::vector<int64_t> idx(r, 0);
  int64_t cur = 0;
  for (int64_t e = 0; e < n; ++e) {
    out[static_cast<size_t>(e)] = cur;
    for (size_t d = r; d-- > 0;) {
      if (++idx[d] < out_shape[d]) {
        cur += st[d];
        break;
      }
      cur -= st[d] * (out_shape[d] - 1);
      idx[d] = 0;
    }
  }
  return out;
}

namespace {
template <typename Ctx>
Status AxesImpl(const Ctx& ctx, const char* name, size_t input, std::vector<int64_t>* axes,
                bool* present, const Tensor* constant, bool input_given, const std::string& input_name) {
  *present = false;
  axes->clear();
  if (ctx.attrs().Has(name)) {
    *axes = ctx.attrs().GetInts(name);
    *present = true;
    return Status::Ok();
  }
  if (input_given) {
    if (!constant) {
      return Error(ErrorCode::kUnsupported,
                   "{} input '{}' is computed at run time; opal needs it to be a constant", name,
                   input_name);
    }
    if (!IsInteger(constant->dtype())) {
      return Error(ErrorCode::kInvalidModel, "{} input '{}' must be an integer tensor", name, input_name);
    }
    *axes = constant->ToInt64Vector();
    *present = true;
  }
  return Status::Ok();
}
}  // namespace

Status AxesFromAttrOrInput(const InferContext& ctx, const char* name, size_t input,
                           std::vector<int64_t>* axes, bool* present) {
  return AxesImpl(ctx, name, input, axes, present, ctx.input_constant(input), ctx.has_input(input),
                  ctx.has_input(input) ? ctx.input(input).name : std::string());
}

Result<std::vector<int64_t>> ConstantInts(const InferContext& ctx, size_t input, const char* what) {
  const Tensor* t = ctx.input_constant(input);
  if (!t) {
    return Error(ErrorCode::kUnsupported,
                 "{} input '{}' is computed at run time; opal needs it to be a constant to know the "
                 "output shape",
                 what, ctx.input(input).name);
  }
  if (!IsInteger(t->dtype())) {
    return Error(ErrorCode::kInvalidModel, "{} input '{}' must be an integer tensor, is {}", what,
                 ctx.input(input).name, DTypeName(t->dtype()));
  }
  return t->ToInt64Vector();
}

std::string IntsToString(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

Status AxesFromAttrOrInput(const EvalContext& ctx, const char* name, size_t input,
                           std::vector<int64_t>* axes, bool* present) {
  return AxesImpl(ctx, name, input, axes, present, ctx.input(input), ctx.input(input) != nullptr,
                  std::string());
}

}  // namespace opal::graph
