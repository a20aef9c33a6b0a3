// Concat (joins tensors along an axis) and Split (cuts one into parts along an axis).
#include <limits>

#include "graph/ops/op_util.h"

namespace opal::graph {
namespace {

using K = Attribute::Kind;

// ---- Concat ------------------------------------------------------------------------------------

int64_t ConcatAxisAttr(const Attributes& attrs, int opset) {
  // Opset 1 defaulted the axis to 1; from opset 4 it is required.
  return attrs.GetInt("axis", opset < 4 ? 1 : std::numeric_limits<int64_t>::min());
}

Status InferConcat(InferContext& ctx) {
  int64_t axis = ConcatAxisAttr(ctx.attrs(), ctx.opset());
  if (axis == std::numeric_limits<int64_t>::min())
    return ctx.Invalid("attribute 'axis' is required");
  const Shape& first = ctx.input_shape(0);
  const auto rank = static_cast<int64_t>(first.size());
  if (rank == 0) return ctx.Invalid("cannot concatenate scalars");
  OPAL_ASSIGN_OR_RETURN(axis, NormalizeAxis(axis, rank));
  Shape out = first;
  out[static_cast<size_t>(axis)] = 0;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) return ctx.Invalid("input {} is empty", i);
    const Shape& s = ctx.input_shape(i);
    if (ctx.input_dtype(i) != ctx.input_dtype(0)) {
      return ctx.Invalid("input {} is {}, input 0 is {}", i, DTypeName(ctx.input_dtype(i)),
                         DTypeName(ctx.input_dtype(0)));
    }
    bool fits = s.size() == first.size();
    for (size_t d = 0; fits && d < s.size(); ++d) {
      fits = static_cast<int64_t>(d) == axis || s[d] == first[d];
    }
    if (!fits) {
      return ctx.Invalid("input {} has shape {}, which does not fit input 0's {} outside axis {}",
                         i, ShapeToString(s), ShapeToString(first), axis);
    }
    out[static_cast<size_t>(axis)] += s[static_cast<size_t>(axis)];
  }
  ctx.SetOutput(0, ctx.input_dtype(0), out);
  return Status::Ok();
}

Status EvalConcat(EvalContext& ctx) {
  Tensor y = ctx.NewOutput(0);
  const Shape& out = y.shape();
  OPAL_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(ConcatAxisAttr(ctx.attrs(), ctx.opset()),
                                                    static_cast<int64_t>(out.size())));
  const int64_t outer = NumElements(Shape(out.begin(), out.begin() + axis));
  const int64_t inner = NumElements(Shape(out.begin() + axis + 1, out.end()));
  const int64_t out_chunk = out[static_cast<size_t>(axis)] * inner;
  int64_t at = 0;  // where this input's chunk starts in each output chunk
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    const Tensor& x = *ctx.input(i);
    const int64_t chunk = x.shape()[static_cast<size_t>(axis)] * inner;
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t e = 0; e < chunk; ++e) CopyElement(x, o * chunk + e, y, o * out_chunk + at + e);
    }
    at += chunk;
  }
  ctx.SetOutput(0, std::move(y));
  return Status::Ok();
}

// ---- Split -------------------------------------------------------------------------------------

// Sizes of the parts along `axis` (a dimension of size `dim`): from the 'split' input (opset 13,
// and opset 1's optional input) or attribute (opsets 2-12), else equal parts.
Status SplitSizes(const Attributes& attrs, int opset, const Tensor* split_input, bool split_given,
                  const std::string& split_name, int64_t dim, size_t parts,
                  std::vector<int64_t>* sizes) {
  if (split_given) {
    if (!split_input) {
      return Error(ErrorCode::kUnsupported,
                   "split input '{}' is computed at run time; opal needs it to be a constant",
                   split_name);
    }
    *sizes = split_input->ToInt64Vector();
  } else if (attrs.Has("split")) {
    *sizes = attrs.GetInts("split");
  } else {
    if (parts == 0) return Error(ErrorCode::kInvalidModel, "Split has no outputs");
    const auto n = static_cast<int64_t>(parts);
    if (dim % n != 0 && opset < 18) {
      return Error(ErrorCode::kInvalidModel,
                   "dimension of size {} does not split into {} equal parts", dim, n);
    }
    // Opset 18: uneven splits make every part ceil(dim / n) except a smaller last one.
    const int64_t part = (dim + n - 1) / n;
    sizes->assign(parts, part);
    sizes->back() = dim - part * (n - 1);
    if (sizes->back() < 0) {
      return Error(ErrorCode::kInvalidModel, "dimension of size {} cannot be split into {} parts",
                   dim, n);
    }
    return Status::Ok();
  }
  if (sizes->size() != parts) {
    return Error(ErrorCode::kInvalidModel, "split {} has {} entries, the node has {} outputs",
                 IntsToString(*sizes), sizes->size(), parts);
  }
  int64_t sum = 0;
  for (int64_t s : *sizes) {
    if (s < 0)
      return Error(ErrorCode::kInvalidModel, "split {} has a negative entry", IntsToString(*sizes));
    sum += s;
  }
  if (sum != dim) {
    return Error(ErrorCode::kInvalidModel, "split {} sums to {}, the dimension has size {}",
                 IntsToString(*sizes), sum, dim);
  }
  return Status::Ok();
}

Status InferSplit(InferContext& ctx) {
  const Shape& in = ctx.input_shape(0);
  OPAL_ASSIGN_OR_RETURN(int64_t axis,
                        NormalizeAxis(ctx.attrs().GetInt("axis", 0), ctx.input_rank(0)));
  if (in.empty()) return ctx.Invalid("cannot split a scalar");
  std::vector<int64_t> sizes;
  OPAL_RETURN_IF_ERROR(SplitSizes(ctx.attrs(), ctx.opset(), ctx.input_constant(1), ctx.has_input(1),
                                  ctx.has_input(1) ? ctx.input(1).name : "",
                                  in[static_cast<size_t>(axis)], ctx.num_outputs(), &sizes));
  for (size_t i = 0; i < ctx.num_outputs(); ++i) {
    Shape s = in;
    s[static_cast<size_t>(axis)] = sizes[i];
    ctx.SetOutput(i, ctx.input_dtype(0), s);
  }
  return Status::Ok();
}

Status EvalSplit(EvalContext& ctx) {
  const Tensor& x = *ctx.input(0);
  const Shape& in = x.shape();
  OPAL_ASSIGN_OR_RETURN(
      int64_t axis, NormalizeAxis(ctx.attrs().GetInt("axis", 0), static_cast<int64_t>(in.size())));
  const int64_t outer = NumElements(Shape(in.begin(), in.begin() + axis));
  const int64_t inner = NumElements(Shape(in.begin() + axis + 1, in.end()));
  const int64_t in_chunk = in[static_cast<size_t>(axis)] * inner;
  std::vector<int64_t> sizes;
  OPAL_RETURN_IF_ERROR(SplitSizes(ctx.attrs(), ctx.opset(), ctx.input(1), ctx.input(1) != nullptr,
                                  "", in[static_cast<size_t>(axis)], ctx.num_outputs(), &sizes));
  int64_t at = 0;
  for (size_t i = 0; i < ctx.num_outputs(); ++i) {
    const int64_t chunk = sizes[i] * inner;
    if (ctx.has_output(i)) {
      Tensor y = ctx.NewOutput(i);
      for (int64_t o = 0; o < outer; ++o) {
        for (int64_t e = 0; e < chunk; ++e) CopyElement(x, o * in_chunk + at + e, y, o * chunk + e);
      }
      ctx.SetOutput(i, std::move(y));
    }
    at += chunk;
  }
  return Status::Ok();
}

}  // namespace

void RegisterConcatSplitOps(OpRegistry& r) {
  r.Add({"Concat", 1, -1, 1, 1, {{"axis", K::kInt}}, InferConcat, EvalConcat});
  r.Add({"Split",
         1,
         2,
         1,
         -1,
         {{"axis", K::kInt}, {"split", K::kInts}, {"num_outputs", K::kInt}},
         InferSplit,
         EvalSplit});
}

}  // namespace opal::graph
