// Pooling: MaxPool (with its optional Indices output), AveragePool, LpPool, GlobalAveragePool,
// GlobalMaxPool, GlobalLpPool. Window geometry comes from ResolveWindow (window.h).
#include <cmath>
#include <limits>

#include "graph/ops/op_util.h"
#include "graph/ops/window.h"

namespace opal::graph {
namespace {

using K = Attribute::Kind;

enum class PoolKind { kMax, kAverage, kLp };

PoolKind KindOf(const std::string& op) {
  if (op == "MaxPool" || op == "GlobalMaxPool") return PoolKind::kMax;
  if (op == "AveragePool" || op == "GlobalAveragePool") return PoolKind::kAverage;
  return PoolKind::kLp;
}

Status CheckPoolInput(const InferContext& ctx) {
  const Shape& x = ctx.input_shape(0);
  if (x.size() < 3)
    return ctx.Invalid("input must be N x C x spatial..., got {}", ShapeToString(x));
  DType t = ctx.input_dtype(0);
  bool int8 = ctx.node().op_type == "MaxPool" && (t == DType::kInt8 || t == DType::kUInt8);
  if (!IsFloat(t) && !int8) {
    return ctx.Invalid("input type {} is not supported by {}", DTypeName(t), ctx.node().op_type);
  }
  return Status::Ok();
}

Result<WindowGeometry> PoolWindow(const Attributes& attrs, const Shape& x) {
  if (!attrs.Has("kernel_shape"))
    return Error(ErrorCode::kInvalidModel, "attribute 'kernel_shape' is required");
  std::vector<int64_t> in(x.begin() + 2, x.end()), kernel = attrs.GetInts("kernel_shape");
  if (kernel.size() != in.size()) {
    return Error(ErrorCode::kInvalidModel,
                 "kernel_shape has {} entries, the input has {} spatial dims", kernel.size(),
                 in.size());
  }
  return ResolveWindow(attrs, in, kernel, /*allow_ceil_mode=*/true);
}

Status InferPool(InferContext& ctx) {
  OPAL_RETURN_IF_ERROR(CheckPoolInput(ctx));
  const Shape& x = ctx.input_shape(0);
  OPAL_ASSIGN_OR_RETURN(WindowGeometry g, PoolWindow(ctx.attrs(), x));
  int64_t order = ctx.attrs().GetInt("storage_order", 0);
  if (order != 0 && order != 1) return ctx.Invalid("storage_order must be 0 or 1, is {}", order);
  if (ctx.attrs().GetFloat("p", 2.0) <= 0) return ctx.Invalid("p must be positive");
  Shape out = {x[0], x[1]};
  out.insert(out.end(), g.out.begin(), g.out.end());
  ctx.SetOutput(0, ctx.input_dtype(0), out);
  ctx.SetOutput(1, DType::kInt64, out);  // MaxPool's Indices
  return Status::Ok();
}

// Reference pooling: direct loops over every window, accumulation in double.
Status EvalPool(EvalContext& ctx) {
  const Tensor& x = *ctx.input(0);
  const Shape& xs = x.shape();
  OPAL_ASSIGN_OR_RETURN(WindowGeometry g, PoolWindow(ctx.attrs(), xs));
  const PoolKind kind = KindOf(ctx.node().op_type);
  const size_t r = xs.size() - 2;
  const Shape in(xs.begin() + 2, xs.end());
  const bool include_pad = ctx.attrs().GetInt("count_include_pad", 0) != 0;
  const bool col_major = ctx.attrs().GetInt("storage_order", 0) == 1;
  const double p = ctx.attrs().GetFloat("p", 2.0);
  const int64_t in_sp = NumElements(in), out_sp = NumElements(g.out), k_sp = NumElements(g.kernel);
  Tensor y = ctx.NewOutput(0);
  Tensor indices = ctx.has_output(1) ? ctx.NewOutput(1) : Tensor();
  std::vector<int64_t> opos(r), kpos(r), best_pos(r), ipos(r);
  for (int64_t nc = 0; nc < xs[0] * xs[1]; ++nc) {
    std::fill(opos.begin(), opos.end(), 0);
    for (int64_t o = 0; o < out_sp; ++o) {
      double acc = kind == PoolKind::kMax ? -std::numeric_limits<double>::infinity() : 0.0;
      int64_t valid = 0, in_padded = 0;
      bool found = false;
      std::fill(kpos.begin(), kpos.end(), 0);
      for (int64_t k = 0; k < k_sp; ++k) {
        bool inside = true, padded = true;
        int64_t off = 0;
        for (size_t d = 0; d < r; ++d) {
          ipos[d] = opos[d] * g.strides[d] - g.pads[d] + kpos[d] * g.dilations[d];
          if (ipos[d] < -g.pads[d] || ipos[d] >= in[d] + g.pads[d + r]) padded = false;
          if (ipos[d] < 0 || ipos[d] >= in[d]) inside = false;
          off = off * in[d] + ipos[d];
        }
        in_padded += padded ? 1 : 0;
        NextIndex(kpos, g.kernel);
        if (!inside) continue;
        ++valid;
        const double v = x.GetDouble(nc * in_sp + off);
        if (kind == PoolKind::kAverage) {
          acc += v;
        } else if (kind == PoolKind::kLp) {
          acc += std::pow(std::fabs(v), p);
        } else if (!found || v > acc) {
          acc = v;
          best_pos = ipos;
          found = true;
        }
      }
      double result = acc;
      if (kind == PoolKind::kAverage)
        result = acc / static_cast<double>(include_pad ? in_padded : valid);
      if (kind == PoolKind::kLp) result = std::pow(acc, 1.0 / p);
      y.SetDouble(nc * out_sp + o, result);
      if (ctx.has_output(1)) {  // flat index into the input; spatial dims column-major if asked
        int64_t flat = 0;
        for (size_t i = 0; i < r; ++i) {
          size_t d = col_major ? r - 1 - i : i;
          flat = flat * in[d] + (found ? best_pos[d] : 0);
        }
        indices.SetInt(nc * out_sp + o, nc * in_sp + flat);
      }
      NextIndex(opos, g.out);
    }
  }
  ctx.SetOutput(0, std::move(y));
  if (ctx.has_output(1)) ctx.SetOutput(1, std::move(indices));
  return Status::Ok();
}

// ---- global pooling ----------------------------------------------------------------------------

Status InferGlobalPool(InferContext& ctx) {
  OPAL_RETURN_IF_ERROR(CheckPoolInput(ctx));
  if (ctx.attrs().GetFloat("p", 2.0) <= 0) return ctx.Invalid("p must be positive");
  Shape out = ctx.input_shape(0);
  for (size_t d = 2; d < out.size(); ++d) out[d] = 1;
  ctx.SetOutput(0, ctx.input_dtype(0), out);
  return Status::Ok();
}

Status EvalGlobalPool(EvalContext& ctx) {
  const Tensor& x = *ctx.input(0);
  const PoolKind kind = KindOf(ctx.node().op_type);
  const double p = ctx.attrs().GetFloat("p", 2.0);
  const int64_t nc = x.shape()[0] * x.shape()[1];
  const int64_t sp = nc == 0 ? 0 : x.size() / nc;
  Tensor y = ctx.NewOutput(0);
  for (int64_t i = 0; i < nc; ++i) {
    double acc = kind == PoolKind::kMax ? -std::numeric_limits<double>::infinity() : 0.0;
    for (int64_t e = 0; e < sp; ++e) {
      const double v = x.GetDouble(i * sp + e);
      if (kind == PoolKind::kMax) {
        acc = e == 0 || v > acc ? v : acc;
      } else {
        acc += kind == PoolKind::kLp ? std::pow(std::fabs(v), p) : v;
      }
    }
    if (kind == PoolKind::kAverage) acc /= static_cast<double>(sp);
    if (kind == PoolKind::kLp) acc = std::pow(acc, 1.0 / p);
    y.SetDouble(i, acc);
  }
  ctx.SetOutput(0, std::move(y));
  return Status::Ok();
}

}  // namespace

void RegisterPoolOps(OpRegistry& r) {
  const std::vector<AttrSpec> window = {{"auto_pad", K::kString}, {"ceil_mode", K::kInt},
                                        {"dilations", K::kInts},  {"kernel_shape", K::kInts},
                                        {"pads", K::kInts},       {"strides", K::kInts}};
  auto with = [&](std::vector<AttrSpec> extra) {
    extra.insert(extra.end(), window.begin(), window.end());
    return extra;
  };
  r.Add({"MaxPool", 1, 1, 1, 2, with({{"storage_order", K::kInt}}), InferPool, EvalPool});
  r.Add({"AveragePool", 1, 1, 1, 1, with({{"count_include_pad", K::kInt}}), InferPool, EvalPool});
  r.Add({"LpPool", 1, 1, 1, 1, with({{"p", K::kInt}}), InferPool, EvalPool});
  r.Add({"GlobalAveragePool", 1, 1, 1, 1, {}, InferGlobalPool, EvalGlobalPool});
  r.Add({"GlobalMaxPool", 1, 1, 1, 1, {}, InferGlobalPool, EvalGlobalPool});
  r.Add({"GlobalLpPool", 1, 1, 1, 1, {{"p", K::kInt}}, InferGlobalPool, EvalGlobalPool});
}

}  // namespace opal::graph
