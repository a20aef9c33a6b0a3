// Pad: constant, reflect, edge and wrap modes; negative pads crop. The pads are an attribute before
// opset 11 ('paddings' in opset 1) and an input from 11 (with the constant value as input 2 and,
// from opset 18, the axes they apply to as input 3).
#include "graph/ops/op_util.h"

namespace opal::graph {
namespace {

using K = Attribute::Kind;

enum class PadMode { kConstant, kReflect, kEdge, kWrap };

struct PadGeometry {
  PadMode mode = PadMode::kConstant;
  std::vector<int64_t> begin, end;  // per input dimension
  Shape out;
};

Result<PadGeometry> ResolvePad(const Attributes& attrs, const Shape& in,
                               const std::vector<int64_t>& pads, std::vector<int64_t> axes) {
  PadGeometry g;
  const std::string mode = attrs.GetString("mode", "constant");
  if (mode == "constant") {
    g.mode = PadMode::kConstant;
  } else if (mode == "reflect") {
    g.mode = PadMode::kReflect;
  } else if (mode == "edge") {
    g.mode = PadMode::kEdge;
  } else if (mode == "wrap") {
    g.mode = PadMode::kWrap;
  } else {
    return Error(ErrorCode::kInvalidModel, "unknown mode '{}' (constant, reflect, edge or wrap)",
                 mode);
  }
  const auto rank = static_cast<int64_t>(in.size());
  if (axes.empty()) {
    for (int64_t i = 0; i < rank; ++i) axes.push_back(i);
  }
  if (pads.size() != 2 * axes.size()) {
    return Error(ErrorCode::kInvalidModel,
                 "pads has {} entries, expected {} (begin and end for {} axes)", pads.size(),
                 2 * axes.size(), axes.size());
  }
  g.begin.assign(in.size(), 0);
  g.end.assign(in.size(), 0);
  for (size_t i = 0; i < axes.size(); ++i) {
    int64_t a = axes[i] < 0 ? axes[i] + rank : axes[i];
    if (a < 0 || a >= rank) {
      return Error(ErrorCode::kInvalidModel, "axis {} is out of range for rank {}", axes[i], rank);
    }
    g.begin[static_cast<size_t>(a)] = pads[i];
    g.end[static_cast<size_t>(a)] = pads[i + axes.size()];
  }
  g.out = in;
  for (size_t d = 0; d < in.size(); ++d) {
    g.out[d] = in[d] + g.begin[d] + g.end[d];
    if (g.out[d] < 0) {
      return Error(ErrorCode::kInvalidModel, "pads {} crop more than dimension {} of size {}",
                   IntsToString(pads), d, in[d]);
    }
    if (g.mode != PadMode::kConstant && in[d] == 0 && g.out[d] > 0) {
      return Error(ErrorCode::kInvalidModel, "{} padding of dimension {} needs a non-empty input",
                   mode, d);
    }
  }
  return g;
}

// The padded input given as the op's pads and axes arguments, whichever opset form it uses.
Status PadArgs(const Attributes& attrs, int opset, const Tensor* pads_in, const Tensor* axes_in,
               std::vector<int64_t>* pads, std::vector<int64_t>* axes) {
  if (opset < 11) {
    const char* name = opset < 2 ? "paddings" : "pads";
    if (!attrs.Has(name))
      return Error(ErrorCode::kInvalidModel, "attribute '{}' is required", name);
    *pads = attrs.GetInts(name);
    return Status::Ok();
  }
  *pads = pads_in->ToInt64Vector();
  if (axes_in) *axes = axes_in->ToInt64Vector();
  return Status::Ok();
}

Status InferPad(InferContext& ctx) {
  if (ctx.opset() >= 11) {
    if (!ctx.has_input(1)) return ctx.Invalid("input 'pads' is required from opset 11");
    OPAL_RETURN_IF_ERROR(ConstantInts(ctx, 1, "pads").status());
    if (ctx.has_input(3)) OPAL_RETURN_IF_ERROR(ConstantInts(ctx, 3, "axes").status());
    if (ctx.has_input(2) && NumElements(ctx.input_shape(2)) != 1) {
      return ctx.Invalid("constant_value must hold one value, has shape {}",
                         ShapeToString(ctx.input_shape(2)));
    }
    if (ctx.has_input(2) && ctx.input_dtype(2) != ctx.input_dtype(0)) {
      return ctx.Invalid("constant_value is {}, data is {}", DTypeName(ctx.input_dtype(2)),
                         DTypeName(ctx.input_dtype(0)));
    }
  }
  std::vector<int64_t> pads, axes;
  OPAL_RETURN_IF_ERROR(PadArgs(ctx.attrs(), ctx.opset(), ctx.input_constant(1),
                               ctx.input_constant(3), &pads, &axes));
  OPAL_ASSIGN_OR_RETURN(PadGeometry g, ResolvePad(ctx.attrs(), ctx.input_shape(0), pads, axes));
  ctx.SetOutput(0, ctx.input_dtype(0), g.out);
  return Status::Ok();
}

// Where output coordinate `o` reads in a dimension of size `n` padded by `begin` in front;
// -1 for the constant value.
int64_t SourceCoord(PadMode mode, int64_t o, int64_t begin, int64_t n) {
  int64_t c = o - begin;
  if (c >= 0 && c < n) return c;
  switch (mode) {
    case PadMode::kConstant:
      return -1;
    case PadMode::kEdge:
      return c < 0 ? 0 : n - 1;
    case PadMode::kWrap:
      return ((c % n) + n) % n;
    case PadMode::kReflect: {
      if (n == 1) return 0;
      const int64_t period = 2 * (n - 1);  // mirror without repeating the edge, as numpy does
      c = ((c % period) + period) % period;
      return c < n ? c : period - c;
    }
  }
  return -1;
}

Status EvalPad(EvalContext& ctx) {
  const Tensor& x = *ctx.input(0);
  std::vector<int64_t> pads, axes;
  OPAL_RETURN_IF_ERROR(PadArgs(ctx.attrs(), ctx.opset(), ctx.input(1), ctx.input(3), &pads, &axes));
  OPAL_ASSIGN_OR_RETURN(PadGeometry g, ResolvePad(ctx.attrs(), x.shape(), pads, axes));
  Tensor y = ctx.NewOutput(0);
  // The fill value: one element of the data's type.
  Tensor fill(x.dtype(), {});
  if (ctx.opset() >= 11 && ctx.input(2)) {
    CopyElement(*ctx.input(2), 0, fill, 0);
  } else if (ctx.opset() < 11) {
    fill.SetDouble(0, ctx.attrs().GetFloat("value", 0.0));
  }
  auto strides = Strides(x.shape());
  std::vector<int64_t> pos(g.out.size(), 0);
  for (int64_t e = 0; e < y.size(); ++e) {
    int64_t off = 0;
    bool inside = true;
    for (size_t d = 0; d < pos.size() && inside; ++d) {
      int64_t c = SourceCoord(g.mode, pos[d], g.begin[d], x.shape()[d]);
      inside = c >= 0;
      off += c * strides[d];
    }
    if (inside) {
      CopyElement(x, off, y, e);
    } else {
      CopyElement(fill, 0, y, e);
    }
    NextIndex(pos, g.out);
  }
  ctx.SetOutput(0, std::move(y));
  return Status::Ok();
}

}  // namespace

void RegisterPadOps(OpRegistry& r) {
  r.Add({"Pad",
         1,
         4,
         1,
         1,
         {{"mode", K::kString}, {"pads", K::kInts}, {"paddings", K::kInts}, {"value", K::kFloat}},
         InferPad,
         EvalPad});
}

}  // namespace opal::graph
