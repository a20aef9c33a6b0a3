// Operators that select elements by position: Gather, GatherElements, Slice, ArgMax, ArgMin.
// (Pad is in pad.cc.)
#include <algorithm>
#include <limits>

#include "graph/ops/op_util.h"

namespace opal::graph {
namespace {

using K = Attribute::Kind;

// ---- Gather, GatherElements --------------------------------------------------------------------

// Index `i` into a dimension of size `dim` (negative counts from the back), or an error.
Result<int64_t> ResolveIndex(int64_t i, int64_t dim) {
  if (i < -dim || i >= dim) {
    return Error(ErrorCode::kInvalidModel, "index {} is out of range for a dimension of size {}", i,
                 dim);
  }
  return i < 0 ? i + dim : i;
}

Status CheckIndices(const InferContext& ctx, size_t input, int64_t dim) {
  if (ctx.input_dtype(input) != DType::kInt32 && ctx.input_dtype(input) != DType::kInt64) {
    return ctx.Invalid("indices must be int32 or int64, are {}", DTypeName(ctx.input_dtype(input)));
  }
  if (const Tensor* t = ctx.input_constant(input)) {  // constant indices are checked at import
    for (int64_t e = 0; e < t->size(); ++e)
      OPAL_RETURN_IF_ERROR(ResolveIndex(t->GetInt(e), dim).status());
  }
  return Status::Ok();
}

Status InferGather(InferContext& ctx) {
  const Shape& data = ctx.input_shape(0);
  if (data.empty()) return ctx.Invalid("cannot gather from a scalar");
  OPAL_ASSIGN_OR_RETURN(int64_t axis,
                        NormalizeAxis(ctx.attrs().GetInt("axis", 0), ctx.input_rank(0)));
  OPAL_RETURN_IF_ERROR(CheckIndices(ctx, 1, data[static_cast<size_t>(axis)]));
  Shape out(data.begin(), data.begin() + axis);
  out.insert(out.end(), ctx.input_shape(1).begin(), ctx.input_shape(1).end());
  out.insert(out.end(), data.begin() + axis + 1, data.end());
  ctx.SetOutput(0, ctx.input_dtype(0), out);
  return Status::Ok();
}

Status EvalGather(EvalContext& ctx) {
  const Tensor& x = *ctx.input(0);
  const Tensor& idx = *ctx.input(1);
  const Shape& in = x.shape();
  OPAL_ASSIGN_OR_RETURN(
      int64_t axis, NormalizeAxis(ctx.attrs().GetInt("axis", 0), static_cast<int64_t>(in.size())));
  const int64_t outer = NumElements(Shape(in.begin(), in.begin() + axis));
  const int64_t inner = NumElements(Shape(in.begin() + axis + 1, in.end()));
  const int64_t dim = in[static_cast<size_t>(axis)];
  Tensor y = ctx.NewOutput(0);
  const int64_t n = idx.size();
  for (int64_t j = 0; j < n; ++j) {
    OPAL_ASSIGN_OR_RETURN(int64_t k, ResolveIndex(idx.GetInt(j), dim));
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i = 0; i < inner; ++i)
        CopyElement(x, (o * dim + k) * inner + i, y, (o * n + j) * inner + i);
    }
  }
  ctx.SetOutput(0, std::move(y));
  return Status::Ok();
}

Status InferGatherElements(InferContext& ctx) {
  const Shape& data = ctx.input_shape(0);
  const Shape& idx = ctx.input_shape(1);
  if (data.empty()) return ctx.Invalid("cannot gather from a scalar");
  if (idx.size() != data.size()) {
    return ctx.Invalid("indices rank {} differs from data rank {}", idx.size(), data.size());
  }
  OPAL_ASSIGN_OR_RETURN(int64_t axis,
                        NormalizeAxis(ctx.attrs().GetInt("axis", 0), ctx.input_rank(0)));
  for (size_t d = 0; d < data.size(); ++d) {
    if (static_cast<int64_t>(d) != axis && idx[d] > data[d]) {
      return ctx.Invalid("indices shape {} exceeds data shape {} in dimension {}",
                         ShapeToString(idx), ShapeToString(data), d);
    }
  }
  OPAL_RETURN_IF_ERROR(CheckIndices(ctx, 1, data[static_cast<size_t>(axis)]));
  ctx.SetOutput(0, ctx.input_dtype(0), idx);
  return Status::Ok();
}

Status EvalGatherElements(EvalContext& ctx) {
  const Tensor& x = *ctx.input(0);
  const Tensor& idx = *ctx.input(1);
  const auto axis = static_cast<size_t>(
      *NormalizeAxis(ctx.attrs().GetInt("axis", 0), static_cast<int64_t>(x.shape().size())));
  auto strides = Strides(x.shape());
  Tensor y = ctx.NewOutput(0);
  std::vector<int64_t> pos(y.shape().size(), 0);
  for (int64_t e = 0; e < y.size(); ++e) {
    OPAL_ASSIGN_OR_RETURN(int64_t k, ResolveIndex(idx.GetInt(e), x.shape()[axis]));
    int64_t off = 0;
    for (size_t d = 0; d < pos.size(); ++d) off += (d == axis ? k : pos[d]) * strides[d];
    CopyElement(x, off, y, e);
    NextIndex(pos, y.shape());
  }
  ctx.SetOutput(0, std::move(y));
  return Status::Ok();
}

// ---- Slice -------------------------------------------------------------------------------------

// Per input dimension: first element, step and output length.
struct SliceGeometry {
  std::vector<int64_t> start, step;
  Shape out;
};

// Before opset 10 starts/ends/axes are attributes; from 10 they (and steps) are inputs 1-4.
Status SliceArgs(const Attributes& attrs, int opset, const Tensor* starts, const Tensor* ends,
                 const Tensor* axes, const Tensor* steps, std::vector<int64_t>* s,
                 std::vector<int64_t>* e, std::vector<int64_t>* a, std::vector<int64_t>* st) {
  if (opset < 10) {
    if (!attrs.Has("starts") || !attrs.Has("ends")) {
      return Error(ErrorCode::kInvalidModel,
                   "attributes 'starts' and 'ends' are required before opset 10");
    }
    *s = attrs.GetInts("starts");
    *e = attrs.GetInts("ends");
    *a = attrs.GetInts("axes");
  } else {
    *s = starts->ToInt64Vector();
    *e = ends->ToInt64Vector();
    if (axes) *a = axes->ToInt64Vector();
    if (steps) *st = steps->ToInt64Vector();
  }
  return Status::Ok();
}

Result<SliceGeometry> ResolveSlice(const Shape& in, const std::vector<int64_t>& starts,
                                   const std::vector<int64_t>& ends, std::vector<int64_t> axes,
                                   std::vector<int64_t> steps) {
  const auto rank = static_cast<int64_t>(in.size());
  const size_t n = starts.size();
  if (ends.size() != n) {
    return Error(ErrorCode::kInvalidModel, "starts has {} entries, ends has {}", n, ends.size());
  }
  if (axes.empty()) {
    for (size_t i = 0; i < n; ++i) axes.push_back(static_cast<int64_t>(i));
  }
  if (steps.empty()) steps.assign(n, 1);
  if (axes.size() != n || steps.size() != n) {
    return Error(ErrorCode::kInvalidModel,
                 "starts, ends, axes and steps have {}, {}, {} and {} entries", n, ends.size(),
                 axes.size(), steps.size());
  }
  SliceGeometry g;
  g.start.assign(in.size(), 0);
  g.step.assign(in.size(), 1);
  g.out = in;
  std::vector<bool> seen(in.size(), false);
  for (size_t i = 0; i < n; ++i) {
    int64_t axis = axes[i] < 0 ? axes[i] + rank : axes[i];
    if (axis < 0 || axis >= rank || seen[static_cast<size_t>(axis)]) {
      return Error(ErrorCode::kInvalidModel, "axes {} are out of range or repeat for rank {}",
                   IntsToString(axes), rank);
    }
    seen[static_cast<size_t>(axis)] = true;
    const int64_t dim = in[static_cast<size_t>(axis)], step = steps[i];
    if (step == 0) return Error(ErrorCode::kInvalidModel, "steps must not be 0");
    int64_t start = starts[i], end = ends[i];
    if (start < 0) start += dim;
    if (end < 0) end += dim;
    // Clamp as the ONNX spec says: [0, dim] for positive steps, [-1, dim - 1] for negative ones.
    int64_t len = 0;
    if (step > 0) {
      start = std::clamp<int64_t>(start, 0, dim);
      end = std::clamp<int64_t>(end, 0, dim);
      if (end > start) len = (end - start - 1) / step + 1;
    } else if (dim > 0) {
      start = std::clamp<int64_t>(start, 0, dim - 1);
      end = std::clamp<int64_t>(end, -1, dim - 1);
      const int64_t back =
          step == std::numeric_limits<int64_t>::min() ? std::numeric_limits<int64_t>::max() : -step;
      if (start > end) len = (start - end - 1) / back + 1;
    } else {
      start = 0;
    }
    g.start[static_cast<size_t>(axis)] = start;
    g.step[static_cast<size_t>(axis)] = step;
    g.out[static_cast<size_t>(axis)] = len;
  }
  return g;
}

Status InferSlice(InferContext& ctx) {
  const Tensor *starts = nullptr, *ends = nullptr, *axes = nullptr, *steps = nullptr;
  if (ctx.opset() >= 10) {
    if (!ctx.has_input(1) || !ctx.has_input(2))
      return ctx.Invalid("inputs 'starts' and 'ends' are required");
    const char* names[] = {"", "starts", "ends", "axes", "steps"};
    for (size_t i = 1; i <= 4; ++i) {
      if (!ctx.has_input(i)) continue;
      if (!ctx.input_constant(i)) OPAL_RETURN_IF_ERROR(ConstantInts(ctx, i, names[i]).status());
      if (!IsInteger(ctx.input_dtype(i)) || ctx.input_rank(i) != 1) {
        return ctx.Invalid("{} must be a 1-D integer tensor", names[i]);
      }
    }
    starts = ctx.input_constant(1), ends = ctx.input_constant(2);
    axes = ctx.input_constant(3), steps = ctx.input_constant(4);
  }
  std::vector<int64_t> s, e, a, st;
  OPAL_RETURN_IF_ERROR(
      SliceArgs(ctx.attrs(), ctx.opset(), starts, ends, axes, steps, &s, &e, &a, &st));
  OPAL_ASSIGN_OR_RETURN(SliceGeometry g, ResolveSlice(ctx.input_shape(0), s, e, a, st));
  ctx.SetOutput(0, ctx.input_dtype(0), g.out);
  return Status::Ok();
}

Status EvalSlice(EvalContext& ctx) {
  const Tensor& x = *ctx.input(0);
  std::vector<int64_t> s, e, a, st;
  OPAL_RETURN_IF_ERROR(SliceArgs(ctx.attrs(), ctx.opset(), ctx.input(1), ctx.input(2), ctx.input(3),
                                 ctx.input(4), &s, &e, &a, &st));
  OPAL_ASSIGN_OR_RETURN(SliceGeometry g, ResolveSlice(x.shape(), s, e, a, st));
  auto strides = Strides(x.shape());
  Tensor y = ctx.NewOutput(0);
  std::vector<int64_t> pos(g.out.size(), 0);
  for (int64_t k = 0; k < y.size(); ++k) {
    int64_t off = 0;
    for (size_t d = 0; d < pos.size(); ++d) off += (g.start[d] + pos[d] * g.step[d]) * strides[d];
    CopyElement(x, off, y, k);
    NextIndex(pos, g.out);
  }
  ctx.SetOutput(0, std::move(y));
  return Status::Ok();
}

// ---- ArgMax, ArgMin ----------------------------------------------------------------------------

Status InferArgReduce(InferContext& ctx) {
  const Shape& in = ctx.input_shape(0);
  if (in.empty()) return ctx.Invalid("input must not be a scalar");
  OPAL_ASSIGN_OR_RETURN(int64_t axis,
                        NormalizeAxis(ctx.attrs().GetInt("axis", 0), ctx.input_rank(0)));
  if (in[static_cast<size_t>(axis)] == 0) return ctx.Invalid("axis {} is empty", axis);
  Shape out = in;
  if (ctx.attrs().GetInt("keepdims", 1) != 0) {
    out[static_cast<size_t>(axis)] = 1;
  } else {
    out.erase(out.begin() + axis);
  }
  ctx.SetOutput(0, DType::kInt64, out);
  return Status::Ok();
}

Status EvalArgReduce(EvalContext& ctx) {
  const Tensor& x = *ctx.input(0);
  const Shape& in = x.shape();
  const auto axis = *NormalizeAxis(ctx.attrs().GetInt("axis", 0), static_cast<int64_t>(in.size()));
  const bool is_max = ctx.node().op_type == "ArgMax";
  const bool last = ctx.attrs().GetInt("select_last_index", 0) != 0;
  const bool as_int = IsInteger(x.dtype());
  const int64_t outer = NumElements(Shape(in.begin(), in.begin() + axis));
  const int64_t inner = NumElements(Shape(in.begin() + axis + 1, in.end()));
  const int64_t dim = in[static_cast<size_t>(axis)];
  Tensor y = ctx.NewOutput(0);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      int64_t best = 0;
      for (int64_t k = 1; k < dim; ++k) {
        const int64_t a = (o * dim + k) * inner + i, b = (o * dim + best) * inner + i;
        // Integers compare exactly; floats in double (exact for every float type).
        int cmp = as_int ? (x.GetInt(a) > x.GetInt(b)) - (x.GetInt(a) < x.GetInt(b))
                         : (x.GetDouble(a) > x.GetDouble(b)) - (x.GetDouble(a) < x.GetDouble(b));
        if (!is_max) cmp = -cmp;
        if (cmp > 0 || (cmp == 0 && last)) best = k;
      }
      y.SetInt(o * inner + i, best);
    }
  }
  ctx.SetOutput(0, std::move(y));
  return Status::Ok();
}

}  // namespace

void RegisterIndexingOps(OpRegistry& r) {
  r.Add({"Gather", 2, 2, 1, 1, {{"axis", K::kInt}}, InferGather, EvalGather});
  r.Add(
      {"GatherElements", 2, 2, 1, 1, {{"axis", K::kInt}}, InferGatherElements, EvalGatherElements});
  r.Add({"Slice",
         1,
         5,
         1,
         1,
         {{"starts", K::kInts}, {"ends", K::kInts}, {"axes", K::kInts}},
         InferSlice,
         EvalSlice});
  for (const char* op : {"ArgMax", "ArgMin"}) {
    r.Add({op,
           1,
           1,
           1,
           1,
           {{"axis", K::kInt}, {"keepdims", K::kInt}, {"select_last_index", K::kInt}},
           InferArgReduce,
           EvalArgReduce});
  }
}

}  // namespace opal::graph
