// Resize (opsets 10-19) and Upsample (7-9): shape inference and the reference evaluation, both
// from ResolveResize / ResizeAxis (opal/resize_geometry.h). Scales, sizes and roi must be
// constants of the graph. The kernel is lowered in src/lower/lower_resize.cc.
#include "graph/ops/op_util.h"
#include "opal/resize_geometry.h"

namespace opal::graph {
namespace {

using K = Attribute::Kind;

Status InferResize(InferContext& ctx) {
  auto g = ResolveResizeNode(ctx.node(), ctx.opset(), ctx.input_shape(0),
                             [&](size_t i) { return ctx.input_constant(i); });
  if (!g.ok()) return g.status();
  ctx.SetOutput(0, ctx.input_dtype(0), g->out);
  return Status::Ok();
}

// Every output element: the sum over the combinations of its axes' taps of the product of their
// weights times the input there (in double precision), or the extrapolation value outside.
Status EvalResize(EvalContext& ctx) {
  const Tensor& x = *ctx.input(0);
  OPAL_ASSIGN_OR_RETURN(ResizeGeometry g,
                        ResolveResizeNode(ctx.node(), ctx.opset(), x.shape(), [&](size_t i) { return ctx.input(i); }));
  std::vector<ResizeAxisTaps> axes;
  for (size_t d = 0; d < x.shape().size(); ++d) axes.push_back(ResizeAxis(g, d, x.shape()[d]));
  Tensor y = ctx.NewOutput(0);
  const auto strides = Strides(x.shape());
  std::vector<int64_t> pos(g.out.size(), 0);
  const size_t r = pos.size();
  for (int64_t e = 0; e < y.size(); ++e) {
    bool inside = true;
    for (size_t d = 0; d < r; ++d) inside = inside && axes[d].inside[static_cast<size_t>(pos[d])] != 0;
    double sum = 0;
    std::vector<int> pick(r, 0);
    while (inside) {
      double w = 1;
      int64_t off = 0;
      for (size_t d = 0; d < r; ++d) {
        const size_t j = static_cast<size_t>(pos[d] * axes[d].taps + pick[d]);
        w *= axes[d].weight[j];
        off += axes[d].idx[j] * strides[d];
      }
      if (w != 0) sum += w * x.GetDouble(off);
      size_t d = r;
      while (d > 0 && ++pick[d - 1] == axes[d - 1].taps) pick[--d] = 0;
      if (d == 0) break;
    }
    y.SetDouble(e, inside ? sum : g.mode.extrapolation);
    NextIndex(pos, g.out);
  }
  ctx.SetOutput(0, std::move(y));
  return Status::Ok();
}

}  // namespace

void RegisterResizeOps(OpRegistry& r) {
  const std::vector<AttrSpec> attrs = {{"mode", K::kString},
                                       {"coordinate_transformation_mode", K::kString},
                                       {"nearest_mode", K::kString},
                                       {"cubic_coeff_a", K::kFloat},
                                       {"exclude_outside", K::kInt},
                                       {"extrapolation_value", K::kFloat},
                                       {"antialias", K::kInt},
                                       {"axes", K::kInts},
                                       {"keep_aspect_ratio_policy", K::kString},
                                       {"scales", K::kFloats}};
  r.Add({"Resize", 1, 4, 1, 1, attrs, InferResize, EvalResize});
  r.Add({"Upsample", 1, 2, 1, 1, attrs, InferResize, EvalResize});
}

}  // namespace opal::graph
