// Operators that change a tensor's shape or layout, not its values: Reshape, Flatten, Squeeze,
// Unsqueeze, Transpose, Shape, Size, Expand, Tile. (Concat and Split are in concat_split.cc.)
#include <algorithm>
#include <limits>

#include "graph/ops/op_util.h"

namespace opal::graph {
namespace {

using K = Attribute::Kind;

// The output holds the input's elements in the same order, with the inferred shape.
Status EvalSameData(EvalContext& ctx) {
  ctx.SetOutput(0, ctx.input(0)->Reshaped(ctx.output_info(0).shape));
  return Status::Ok();
}

// ---- Reshape, Flatten --------------------------------------------------------------------------

// Resolves Reshape's target: 0 copies the input dim (unless allowzero), one -1 is inferred.
Result<Shape> ResolveReshape(const Shape& in, const std::vector<int64_t>& target, bool allowzero) {
  Shape out(target.size());
  int64_t infer_at = -1, known = 1;
  for (size_t i = 0; i < target.size(); ++i) {
    int64_t d = target[i];
    if (d == -1) {
      if (infer_at >= 0) {
        return Error(ErrorCode::kInvalidModel, "shape {} has more than one -1",
                     IntsToString(target));
      }
      infer_at = static_cast<int64_t>(i);
      continue;
    }
    if (d < -1) {
      return Error(ErrorCode::kInvalidModel, "shape {} has a negative dimension {}",
                   IntsToString(target), d);
    }
    if (d == 0 && !allowzero) {
      if (i >= in.size()) {
        return Error(ErrorCode::kInvalidModel,
                     "shape {} copies input dimension {} (0), but the input has rank {}",
                     IntsToString(target), i, in.size());
      }
      d = in[i];
    }
    if (d > 0 && known > std::numeric_limits<int64_t>::max() / d) {
      return Error(ErrorCode::kInvalidModel, "shape {} is absurdly large", IntsToString(target));
    }
    out[i] = d;
    known *= d;
  }
  const int64_t total = NumElements(in);
  if (infer_at >= 0) {
    if (known == 0 || total % known != 0) {
      return Error(ErrorCode::kInvalidModel, "cannot reshape {} ({} elements) to {}",
                   ShapeToString(in), total, IntsToString(target));
    }
    out[static_cast<size_t>(infer_at)] = total / known;
  } else if (known != total) {
    return Error(ErrorCode::kInvalidModel, "cannot reshape {} ({} elements) to {} ({} elements)",
                 ShapeToString(in), total, IntsToString(target), known);
  }
  return out;
}

Status InferReshape(InferContext& ctx) {
  std::vector<int64_t> target;
  if (ctx.opset() < 5) {  // the shape was an attribute
    if (!ctx.attrs().Has("shape")) return ctx.Invalid("attribute 'shape' is required");
    target = ctx.attrs().GetInts("shape");
  } else {
    if (!ctx.has_input(1)) return ctx.Invalid("input 'shape' is required from opset 5");
    if (ctx.input_rank(1) != 1) {
      return ctx.Invalid("shape must be 1-D, is {}", ShapeToString(ctx.input_shape(1)));
    }
    OPAL_ASSIGN_OR_RETURN(target, ConstantInts(ctx, 1, "shape"));
  }
  bool allowzero = ctx.attrs().GetInt("allowzero", 0) != 0;
  OPAL_ASSIGN_OR_RETURN(Shape out, ResolveReshape(ctx.input_shape(0), target, allowzero));
  ctx.SetOutput(0, ctx.input_dtype(0), out);
  return Status::Ok();
}

Status InferFlatten(InferContext& ctx) {
  const Shape& in = ctx.input_shape(0);
  const auto r = static_cast<int64_t>(in.size());
  int64_t axis = ctx.attrs().GetInt("axis", 1);
  if (axis < -r || axis > r) return ctx.Invalid("axis {} is out of range for rank {}", axis, r);
  if (axis < 0) axis += r;
  Shape outer(in.begin(), in.begin() + axis), inner(in.begin() + axis, in.end());
  ctx.SetOutput(0, ctx.input_dtype(0), {NumElements(outer), NumElements(inner)});
  return Status::Ok();
}

// ---- Squeeze, Unsqueeze ------------------------------------------------------------------------

// Axes normalised to [0, rank), checked for range and repeats.
Result<std::vector<int64_t>> NormalizeAxes(const std::vector<int64_t>& axes, int64_t rank) {
  std::vector<int64_t> out;
  for (int64_t a : axes) {
    OPAL_ASSIGN_OR_RETURN(int64_t n, NormalizeAxis(a, rank));
    if (n < 0 || n >= rank) {
      return Error(ErrorCode::kInvalidModel, "axis {} is out of range for rank {}", a, rank);
    }
    if (std::find(out.begin(), out.end(), n) != out.end()) {
      return Error(ErrorCode::kInvalidModel, "axes {} repeat axis {}", IntsToString(axes), n);
    }
    out.push_back(n);
  }
  return out;
}

Status InferSqueeze(InferContext& ctx) {
  std::vector<int64_t> axes;
  bool present = false;
  OPAL_RETURN_IF_ERROR(AxesFromAttrOrInput(ctx, "axes", 1, &axes, &present));
  const Shape& in = ctx.input_shape(0);
  Shape out;
  if (axes.empty()) {  // squeeze every dimension of size 1
    for (int64_t d : in) {
      if (d != 1) out.push_back(d);
    }
  } else {
    OPAL_ASSIGN_OR_RETURN(axes, NormalizeAxes(axes, ctx.input_rank(0)));
    for (int64_t a : axes) {
      if (in[static_cast<size_t>(a)] != 1) {
        return ctx.Invalid("cannot squeeze axis {} of size {} (input {})", a,
                           in[static_cast<size_t>(a)], ShapeToString(in));
      }
    }
    for (size_t i = 0; i < in.size(); ++i) {
      if (std::find(axes.begin(), axes.end(), static_cast<int64_t>(i)) == axes.end())
        out.push_back(in[i]);
    }
  }
  ctx.SetOutput(0, ctx.input_dtype(0), out);
  return Status::Ok();
}

Status InferUnsqueeze(InferContext& ctx) {
  std::vector<int64_t> axes;
  bool present = false;
  OPAL_RETURN_IF_ERROR(AxesFromAttrOrInput(ctx, "axes", 1, &axes, &present));
  if (axes.empty()) return ctx.Invalid("axes are required");
  const Shape& in = ctx.input_shape(0);
  const auto rank = static_cast<int64_t>(in.size() + axes.size());
  OPAL_ASSIGN_OR_RETURN(axes, NormalizeAxes(axes, rank));
  Shape out;
  size_t next = 0;
  for (int64_t i = 0; i < rank; ++i) {
    bool inserted = std::find(axes.begin(), axes.end(), i) != axes.end();
    out.push_back(inserted ? 1 : in[next++]);
  }
  ctx.SetOutput(0, ctx.input_dtype(0), out);
  return Status::Ok();
}

// ---- Transpose ---------------------------------------------------------------------------------

Result<std::vector<int64_t>> Permutation(const Attributes& attrs, int64_t rank) {
  std::vector<int64_t> perm;
  if (attrs.Has("perm")) {
    perm = attrs.GetInts("perm");
  } else {
    for (int64_t i = rank - 1; i >= 0; --i) perm.push_back(i);
  }
  if (static_cast<int64_t>(perm.size()) != rank) {
    return Error(ErrorCode::kInvalidModel, "perm has {} entries, input rank is {}", perm.size(),
                 rank);
  }
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  for (int64_t p : perm) {
    if (p < 0 || p >= rank || seen[static_cast<size_t>(p)]) {
      return Error(ErrorCode::kInvalidModel, "perm {} is not a permutation of 0..{}",
                   IntsToString(perm), rank - 1);
    }
    seen[static_cast<size_t>(p)] = true;
  }
  return perm;
}

Status InferTranspose(InferContext& ctx) {
  OPAL_ASSIGN_OR_RETURN(auto perm, Permutation(ctx.attrs(), ctx.input_rank(0)));
  Shape out;
  for (int64_t p : perm) out.push_back(ctx.input_shape(0)[static_cast<size_t>(p)]);
  ctx.SetOutput(0, ctx.input_dtype(0), out);
  return Status::Ok();
}

Status EvalTranspose(EvalContext& ctx) {
  const Tensor& x = *ctx.input(0);
  OPAL_ASSIGN_OR_RETURN(auto perm,
                        Permutation(ctx.attrs(), static_cast<int64_t>(x.shape().size())));
  Tensor y = ctx.NewOutput(0);
  auto in_strides = Strides(x.shape());
  std::vector<int64_t> idx(y.shape().size(), 0);
  for (int64_t e = 0; e < y.size(); ++e) {
    int64_t off = 0;
    for (size_t d = 0; d < idx.size(); ++d)
      off += idx[d] * in_strides[static_cast<size_t>(perm[d])];
    CopyElement(x, off, y, e);
    NextIndex(idx, y.shape());
  }
  ctx.SetOutput(0, std::move(y));
  return Status::Ok();
}

// ---- Shape, Size (folded from the input's shape alone) ------------------------------------------

// Opset 15's start/end: negative values count from the back; both clamp to [0, rank].
void ShapeRange(const Attributes& attrs, int64_t rank, int64_t* start, int64_t* end) {
  auto clamp = [rank](int64_t v) { return std::clamp(v < 0 ? v + rank : v, int64_t{0}, rank); };
  *start = clamp(attrs.GetInt("start", 0));
  *end = clamp(attrs.GetInt("end", rank));
}

Status InferShape(InferContext& ctx) {
  int64_t start, end;
  ShapeRange(ctx.attrs(), ctx.input_rank(0), &start, &end);
  ctx.SetOutput(0, DType::kInt64, {std::max<int64_t>(0, end - start)});
  return Status::Ok();
}

Status EvalShape(EvalContext& ctx) {
  const Shape& in = ctx.input_info(0).shape;
  int64_t start, end;
  ShapeRange(ctx.attrs(), static_cast<int64_t>(in.size()), &start, &end);
  Tensor y = ctx.NewOutput(0);
  for (int64_t i = start; i < end; ++i) y.SetInt(i - start, in[static_cast<size_t>(i)]);
  ctx.SetOutput(0, std::move(y));
  return Status::Ok();
}

Status InferSize(InferContext& ctx) {
  ctx.SetOutput(0, DType::kInt64, {});
  return Status::Ok();
}

Status EvalSize(EvalContext& ctx) {
  ctx.SetOutput(0, Tensor::FromInt64({NumElements(ctx.input_info(0).shape)}, {}));
  return Status::Ok();
}

// ---- Expand, Tile ------------------------------------------------------------------------------

Status InferExpand(InferContext& ctx) {
  if (ctx.input_rank(1) != 1) {
    return ctx.Invalid("shape must be 1-D, is {}", ShapeToString(ctx.input_shape(1)));
  }
  OPAL_ASSIGN_OR_RETURN(auto shape, ConstantInts(ctx, 1, "shape"));
  for (int64_t d : shape) {
    if (d < 0) return ctx.Invalid("shape {} has a negative dimension", IntsToString(shape));
  }
  OPAL_ASSIGN_OR_RETURN(Shape out, BroadcastShapes(ctx.input_shape(0), shape));
  ctx.SetOutput(0, ctx.input_dtype(0), out);
  return Status::Ok();
}

Status EvalExpand(EvalContext& ctx) {
  const Tensor& x = *ctx.input(0);
  Tensor y = ctx.NewOutput(0);
  auto offs = BroadcastOffsets(x.shape(), y.shape());
  for (int64_t e = 0; e < y.size(); ++e) CopyElement(x, offs[static_cast<size_t>(e)], y, e);
  ctx.SetOutput(0, std::move(y));
  return Status::Ok();
}

Status InferTile(InferContext& ctx) {
  if (ctx.opset() < 6)
    return ctx.Unsupported("Tile before opset 6 (tiles and axis inputs) is not supported");
  if (ctx.input_rank(1) != 1) {
    return ctx.Invalid("repeats must be 1-D, is {}", ShapeToString(ctx.input_shape(1)));
  }
  OPAL_ASSIGN_OR_RETURN(auto repeats, ConstantInts(ctx, 1, "repeats"));
  const Shape& in = ctx.input_shape(0);
  if (repeats.size() != in.size()) {
    return ctx.Invalid("repeats has {} entries, input rank is {}", repeats.size(), in.size());
  }
  Shape out(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (repeats[i] < 0)
      return ctx.Invalid("repeats {} has a negative entry", IntsToString(repeats));
    out[i] = in[i] * repeats[i];
  }
  ctx.SetOutput(0, ctx.input_dtype(0), out);
  return Status::Ok();
}

Status EvalTile(EvalContext& ctx) {
  const Tensor& x = *ctx.input(0);
  Tensor y = ctx.NewOutput(0);
  const Shape& in = x.shape();
  auto in_strides = Strides(in);
  std::vector<int64_t> idx(in.size(), 0);
  for (int64_t e = 0; e < y.size(); ++e) {
    int64_t off = 0;
    for (size_t d = 0; d < in.size(); ++d) off += (idx[d] % in[d]) * in_strides[d];
    CopyElement(x, off, y, e);
    NextIndex(idx, y.shape());
  }
  ctx.SetOutput(0, std::move(y));
  return Status::Ok();
}

}  // namespace

void RegisterShapeOps(OpRegistry& r) {
  r.Add({"Reshape",
         1,
         2,
         1,
         1,
         {{"shape", K::kInts}, {"allowzero", K::kInt}},
         InferReshape,
         EvalSameData});
  r.Add({"Flatten", 1, 1, 1, 1, {{"axis", K::kInt}}, InferFlatten, EvalSameData});
  r.Add({"Squeeze", 1, 2, 1, 1, {{"axes", K::kInts}}, InferSqueeze, EvalSameData});
  r.Add({"Unsqueeze", 1, 2, 1, 1, {{"axes", K::kInts}}, InferUnsqueeze, EvalSameData});
  r.Add({"Transpose", 1, 1, 1, 1, {{"perm", K::kInts}}, InferTranspose, EvalTranspose});
  r.Add({"Shape", 1, 1, 1, 1, {{"start", K::kInt}, {"end", K::kInt}}, InferShape, EvalShape, true});
  r.Add({"Size", 1, 1, 1, 1, {}, InferSize, EvalSize, true});
  r.Add({"Expand", 2, 2, 1, 1, {}, InferExpand, EvalExpand});
  r.Add({"Tile", 2, 3, 1, 1, {}, InferTile, EvalTile});
}

}  // namespace opal::graph
