// Conv (1-D, 2-D, 3-D; strided, padded, dilated, grouped, depthwise).
#include "graph/ops/op_util.h"
#include "graph/ops/window.h"

namespace opal::graph {
namespace {

using K = Attribute::Kind;

Status InferConv(InferContext& ctx) {
  const Shape& x = ctx.input_shape(0);
  const Shape& w = ctx.input_shape(1);
  if (x.size() < 3) return ctx.Invalid("input must be N x C x spatial..., got {}", ShapeToString(x));
  if (w.size() != x.size()) {
    return ctx.Invalid("weight rank {} differs from input rank {}", w.size(), x.size());
  }
  if (!IsFloat(ctx.input_dtype(0)) || ctx.input_dtype(1) != ctx.input_dtype(0)) {
    return ctx.Invalid("input and weight must be the same float type");
  }
  int64_t group = ctx.attrs().GetInt("group", 1);
  if (group <= 0 || x[1] % group != 0 || w[0] % group != 0) {
    return ctx.Invalid("group {} does not divide input channels {} and output channels {}", group, x[1], w[0]);
  }
  if (w[1] * group != x[1]) {
    return ctx.Invalid("weight expects {} input channels per group, input has {} channels in {} groups", w[1],
                       x[1], group);
  }
  std::vector<int64_t> in(x.begin() + 2, x.end()), kernel(w.begin() + 2, w.end());
  if (ctx.attrs().Has("kernel_shape") && ctx.attrs().GetInts("kernel_shape") != kernel) {
    return ctx.Invalid("kernel_shape does not match the weight's shape {}", ShapeToString(w));
  }
  OPAL_ASSIGN_OR_RETURN(WindowGeometry g, ResolveWindow(ctx.attrs(), in, kernel, false));
  if (ctx.has_input(2) && (ctx.input_rank(2) != 1 || ctx.input_shape(2)[0] != w[0])) {
    return ctx.Invalid("bias must have shape {}, has {}", w[0], ShapeToString(ctx.input_shape(2)));
  }
  Shape out = {x[0], w[0]};
  out.insert(out.end(), g.out.begin(), g.out.end());
  ctx.SetOutput(0, ctx.input_dtype(0), out);
  return Status::Ok();
}

// Reference convolution: direct loops, accumulation in double.
Status EvalConv(EvalContext& ctx) {
  const Tensor& x = *ctx.input(0);
  const Tensor& w = *ctx.input(1);
  const Tensor* b = ctx.input(2);
  Tensor y = ctx.NewOutput(0);
  const Shape& xs = x.shape();
  const Shape& ws = w.shape();
  const Shape& ys = y.shape();
  const size_t r = xs.size() - 2;
  std::vector<int64_t> in(xs.begin() + 2, xs.end()), kernel(ws.begin() + 2, ws.end());
  OPAL_ASSIGN_OR_RETURN(WindowGeometry g, ResolveWindow(ctx.attrs(), in, kernel, false));
  const int64_t group = ctx.attrs().GetInt("group", 1);
  const int64_t n = xs[0], c = xs[1], k = ws[0], cg = ws[1], kg = k / group;
  const int64_t out_sp = NumElements(Shape(ys.begin() + 2, ys.end()));
  const int64_t in_sp = NumElements(in), k_sp = NumElements(kernel);
  std::vector<int64_t> opos(r), kpos(r);
  for (int64_t ni = 0; ni < n; ++ni) {
    for (int64_t ki = 0; ki < k; ++ki) {
      const int64_t gi = ki / kg;
      for (int64_t o = 0; o < out_sp; ++o) {
        for (int64_t rem = o, d = static_cast<int64_t>(r) - 1; d >= 0; --d) {
          opos[d] = rem % ys[d + 2];
          rem /= ys[d + 2];
        }
        double acc = b ? b->GetDouble(ki) : 0.0;
        for (int64_t kk = 0; kk < k_sp; ++kk) {
          int64_t in_off = 0;
          bool inside = true;
          for (int64_t rem = kk, d = static_cast<int64_t>(r) - 1; d >= 0; --d) {
            kpos[d] = rem % kernel[d];
            rem /= kernel[d];
          }
          for (size_t d = 0; d < r; ++d) {
            int64_t p = opos[d] * g.strides[d] - g.pads[d] + kpos[d] * g.dilations[d];
            if (p < 0 || p >= in[d]) {
              inside = false;
              break;
            }
            in_off = in_off * in[d] + p;
          }
          if (!inside) continue;
          for (int64_t ci = 0; ci < cg; ++ci) {
            int64_t xc = gi * cg + ci;
            acc += x.GetDouble((ni * c + xc) * in_sp + in_off) * w.GetDouble((ki * cg + ci) * k_sp + kk);
          }
        }
        y.SetDouble((ni * k + ki) * out_sp + o, acc);
      }
    }
  }
  ctx.SetOutput(0, std::move(y));
  return Status::Ok();
}

}  // namespace

void RegisterConvOps(OpRegistry& r) {
  r.Add({"Conv", 2, 3, 1, 1,
         {{"auto_pad", K::kString}, {"dilations", K::kInts}, {"group", K::kInt}, {"kernel_shape", K::kInts},
          {"pads", K::kInts}, {"strides", K::kInts}},
         InferConv, EvalConv});
}

}  // namespace opal::graph
