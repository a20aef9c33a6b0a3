// Normalizations: Softmax, LogSoftmax, Hardmax, BatchNormalization (inference and training mode),
// LayerNormalization, InstanceNormalization.
#include <cmath>
#include <limits>

#include "graph/ops/op_util.h"

namespace opal::graph {
namespace {

using K = Attribute::Kind;

// ---- Softmax, LogSoftmax, Hardmax --------------------------------------------------------------

// The softmax family works on rows: before opset 13 the input is coerced to 2-D at `axis`
// (default 1) and each row of [prod(dims[:axis]), prod(dims[axis:])] is normalised; from opset 13
// each 1-D line along the single `axis` (default -1) is.
struct Rows {
  int64_t outer, len, inner;  // element (o, k, i) is at (o * len + k) * inner + i
};

Result<Rows> SoftmaxRows(const Attributes& attrs, int opset, const Shape& in) {
  const auto rank = static_cast<int64_t>(in.size());
  const bool coerce = opset < 13;
  int64_t axis = attrs.GetInt("axis", coerce ? 1 : -1);
  if (coerce && axis == rank && rank > 0) {  // coercing at the rank gives rows of one element
    return Rows{NumElements(in), 1, 1};
  }
  OPAL_ASSIGN_OR_RETURN(axis, NormalizeAxis(axis, rank));
  if (rank == 0) return Rows{1, 1, 1};
  const Shape before(in.begin(), in.begin() + axis);
  if (coerce) return Rows{NumElements(before), NumElements(Shape(in.begin() + axis, in.end())), 1};
  return Rows{NumElements(before), in[static_cast<size_t>(axis)],
              NumElements(Shape(in.begin() + axis + 1, in.end()))};
}

Status InferSoftmax(InferContext& ctx) {
  if (!IsFloat(ctx.input_dtype(0))) {
    return ctx.Invalid("input type {} is not supported by {}", DTypeName(ctx.input_dtype(0)),
                       ctx.node().op_type);
  }
  OPAL_RETURN_IF_ERROR(SoftmaxRows(ctx.attrs(), ctx.opset(), ctx.input_shape(0)).status());
  ctx.SetOutput(0, ctx.input_dtype(0), ctx.input_shape(0));
  return Status::Ok();
}

Status EvalSoftmax(EvalContext& ctx) {
  const Tensor& x = *ctx.input(0);
  OPAL_ASSIGN_OR_RETURN(Rows r, SoftmaxRows(ctx.attrs(), ctx.opset(), x.shape()));
  const std::string& op = ctx.node().op_type;
  Tensor y = ctx.NewOutput(0);
  for (int64_t o = 0; o < r.outer; ++o) {
    for (int64_t i = 0; i < r.inner; ++i) {
      auto at = [&](int64_t k) { return (o * r.len + k) * r.inner + i; };
      double mx = -std::numeric_limits<double>::infinity();
      int64_t arg = 0;
      for (int64_t k = 0; k < r.len; ++k) {
        if (x.GetDouble(at(k)) > mx) {
          mx = x.GetDouble(at(k));
          arg = k;
        }
      }
      if (op == "Hardmax") {
        for (int64_t k = 0; k < r.len; ++k) y.SetDouble(at(k), k == arg ? 1.0 : 0.0);
        continue;
      }
      double sum = 0;
      for (int64_t k = 0; k < r.len; ++k) sum += std::exp(x.GetDouble(at(k)) - mx);
      for (int64_t k = 0; k < r.len; ++k) {
        double shifted = x.GetDouble(at(k)) - mx;
        y.SetDouble(at(k), op == "LogSoftmax" ? shifted - std::log(sum) : std::exp(shifted) / sum);
      }
    }
  }
  ctx.SetOutput(0, std::move(y));
  return Status::Ok();
}

// ---- BatchNormalization ------------------------------------------------------------------------

// Training mode: the opset 14+ attribute, or (opsets 7-13) the presence of the optional outputs.
bool BatchNormTraining(const Attributes& attrs, int opset, size_t outputs) {
  if (opset >= 14) return attrs.GetInt("training_mode", 0) != 0;
  return outputs > 1;
}

Status InferBatchNorm(InferContext& ctx) {
  const Shape& x = ctx.input_shape(0);
  if (x.size() < 2) return ctx.Invalid("input must be N x C x ..., got {}", ShapeToString(x));
  if (!IsFloat(ctx.input_dtype(0))) return ctx.Invalid("input must be a float tensor");
  if (ctx.opset() < 9 && ctx.attrs().GetInt("spatial", 1) == 0) {
    return ctx.Unsupported("BatchNormalization with spatial=0 is not supported");
  }
  const char* names[] = {"X", "scale", "B", "input_mean", "input_var"};
  for (size_t i = 1; i < 5; ++i) {
    if (ctx.input_shape(i) != Shape{x[1]}) {
      return ctx.Invalid("{} must have shape {} (the channels), has {}", names[i], x[1],
                         ShapeToString(ctx.input_shape(i)));
    }
    if (!IsFloat(ctx.input_dtype(i))) return ctx.Invalid("{} must be a float tensor", names[i]);
  }
  bool training = BatchNormTraining(ctx.attrs(), ctx.opset(), ctx.num_outputs());
  if (ctx.opset() >= 14 && ctx.num_outputs() > 3) {
    return ctx.Invalid("has {} outputs; from opset 14 there are at most 3", ctx.num_outputs());
  }
  if (!training && ctx.num_outputs() > 1 && ctx.opset() >= 14) {
    return ctx.Invalid("running_mean and running_var are outputs only in training mode");
  }
  ctx.SetOutput(0, ctx.input_dtype(0), x);
  for (size_t i = 1; i < ctx.num_outputs(); ++i)
    ctx.SetOutput(i, ctx.input_dtype(i < 3 ? 3 : 4), {x[1]});
  return Status::Ok();
}

Status EvalBatchNorm(EvalContext& ctx) {
  const Tensor& x = *ctx.input(0);
  const Tensor &scale = *ctx.input(1), &bias = *ctx.input(2), &mean_in = *ctx.input(3),
               &var_in = *ctx.input(4);
  const double eps = ctx.attrs().GetFloat("epsilon", 1e-5);
  const double momentum = ctx.attrs().GetFloat("momentum", 0.9);
  const bool training = BatchNormTraining(ctx.attrs(), ctx.opset(), ctx.num_outputs());
  if (training && ctx.opset() < 14) {
    return Error(ErrorCode::kUnsupported,
                 "folding training-mode BatchNormalization before opset 14");
  }
  const Shape& s = x.shape();
  const int64_t n = s[0], c = s[1], sp = NumElements(Shape(s.begin() + 2, s.end()));
  Tensor y = ctx.NewOutput(0);
  std::vector<double> mean(static_cast<size_t>(c)), var(static_cast<size_t>(c));
  for (int64_t ci = 0; ci < c; ++ci) {
    mean[ci] = mean_in.GetDouble(ci);
    var[ci] = var_in.GetDouble(ci);
    if (!training) continue;
    // Batch statistics over N and the spatial dims (population variance).
    double sum = 0, sq = 0;
    for (int64_t ni = 0; ni < n; ++ni) {
      for (int64_t e = 0; e < sp; ++e) sum += x.GetDouble((ni * c + ci) * sp + e);
    }
    const double count = static_cast<double>(n * sp), m = sum / count;
    for (int64_t ni = 0; ni < n; ++ni) {
      for (int64_t e = 0; e < sp; ++e) sq += std::pow(x.GetDouble((ni * c + ci) * sp + e) - m, 2);
    }
    mean[ci] = m;
    var[ci] = sq / count;
  }
  for (int64_t ni = 0; ni < n; ++ni) {
    for (int64_t ci = 0; ci < c; ++ci) {
      const double k = scale.GetDouble(ci) / std::sqrt(var[ci] + eps);
      for (int64_t e = 0; e < sp; ++e) {
        const int64_t i = (ni * c + ci) * sp + e;
        y.SetDouble(i, (x.GetDouble(i) - mean[ci]) * k + bias.GetDouble(ci));
      }
    }
  }
  ctx.SetOutput(0, std::move(y));
  for (size_t o = 1; o < 3; ++o) {  // running_mean, running_var
    if (!ctx.has_output(o)) continue;
    const Tensor& in = o == 1 ? mean_in : var_in;
    const std::vector<double>& cur = o == 1 ? mean : var;
    Tensor t = ctx.NewOutput(o);
    for (int64_t ci = 0; ci < c; ++ci)
      t.SetDouble(ci, in.GetDouble(ci) * momentum + cur[ci] * (1 - momentum));
    ctx.SetOutput(o, std::move(t));
  }
  return Status::Ok();
}

// ---- LayerNormalization, InstanceNormalization -------------------------------------------------

Status InferLayerNorm(InferContext& ctx) {
  const Shape& x = ctx.input_shape(0);
  if (!IsFloat(ctx.input_dtype(0))) return ctx.Invalid("input must be a float tensor");
  OPAL_ASSIGN_OR_RETURN(int64_t axis,
                        NormalizeAxis(ctx.attrs().GetInt("axis", -1), ctx.input_rank(0)));
  if (x.empty()) return ctx.Invalid("input must not be a scalar");
  const Shape norm(x.begin() + axis, x.end());
  for (size_t i = 1; i < 3; ++i) {
    if (!ctx.has_input(i)) continue;
    auto b = BroadcastShapes(ctx.input_shape(i), norm);
    if (!b.ok() || *b != norm) {
      return ctx.Invalid("{} of shape {} does not broadcast to the normalized shape {}",
                         i == 1 ? "Scale" : "B", ShapeToString(ctx.input_shape(i)),
                         ShapeToString(norm));
    }
  }
  int64_t stash = ctx.attrs().GetInt("stash_type", 1);
  auto stash_type = DTypeFromOnnx(static_cast<int>(stash));
  if (!stash_type.ok() || !IsFloat(*stash_type))
    return ctx.Invalid("stash_type {} is not a float type", stash);
  Shape stats = x;
  for (size_t d = static_cast<size_t>(axis); d < stats.size(); ++d) stats[d] = 1;
  ctx.SetOutput(0, ctx.input_dtype(0), x);
  ctx.SetOutput(1, *stash_type, stats);
  ctx.SetOutput(2, *stash_type, stats);
  return Status::Ok();
}

Status EvalLayerNorm(EvalContext& ctx) {
  const Tensor& x = *ctx.input(0);
  const Shape& s = x.shape();
  OPAL_ASSIGN_OR_RETURN(
      int64_t axis, NormalizeAxis(ctx.attrs().GetInt("axis", -1), static_cast<int64_t>(s.size())));
  const Shape norm(s.begin() + axis, s.end());
  const int64_t len = NumElements(norm), rows = len == 0 ? 0 : x.size() / len;
  const double eps = ctx.attrs().GetFloat("epsilon", 1e-5);
  const Tensor *scale = ctx.input(1), *bias = ctx.input(2);
  std::vector<int64_t> so = scale ? BroadcastOffsets(scale->shape(), norm) : std::vector<int64_t>();
  std::vector<int64_t> bo = bias ? BroadcastOffsets(bias->shape(), norm) : std::vector<int64_t>();
  Tensor y = ctx.NewOutput(0);
  Tensor mean_out = ctx.has_output(1) ? ctx.NewOutput(1) : Tensor();
  Tensor inv_out = ctx.has_output(2) ? ctx.NewOutput(2) : Tensor();
  for (int64_t r = 0; r < rows; ++r) {
    double sum = 0, sq = 0;
    for (int64_t k = 0; k < len; ++k) sum += x.GetDouble(r * len + k);
    const double mean = sum / static_cast<double>(len);
    for (int64_t k = 0; k < len; ++k) sq += std::pow(x.GetDouble(r * len + k) - mean, 2);
    const double inv = 1.0 / std::sqrt(sq / static_cast<double>(len) + eps);
    for (int64_t k = 0; k < len; ++k) {
      double v = (x.GetDouble(r * len + k) - mean) * inv;
      if (scale) v *= scale->GetDouble(so[static_cast<size_t>(k)]);
      if (bias) v += bias->GetDouble(bo[static_cast<size_t>(k)]);
      y.SetDouble(r * len + k, v);
    }
    if (ctx.has_output(1)) mean_out.SetDouble(r, mean);
    if (ctx.has_output(2)) inv_out.SetDouble(r, inv);
  }
  ctx.SetOutput(0, std::move(y));
  if (ctx.has_output(1)) ctx.SetOutput(1, std::move(mean_out));
  if (ctx.has_output(2)) ctx.SetOutput(2, std::move(inv_out));
  return Status::Ok();
}

Status InferInstanceNorm(InferContext& ctx) {
  const Shape& x = ctx.input_shape(0);
  if (x.size() < 3)
    return ctx.Invalid("input must be N x C x spatial..., got {}", ShapeToString(x));
  if (!IsFloat(ctx.input_dtype(0))) return ctx.Invalid("input must be a float tensor");
  for (size_t i = 1; i < 3; ++i) {
    if (ctx.input_shape(i) != Shape{x[1]}) {
      return ctx.Invalid("{} must have shape {} (the channels), has {}", i == 1 ? "scale" : "B",
                         x[1], ShapeToString(ctx.input_shape(i)));
    }
  }
  ctx.SetOutput(0, ctx.input_dtype(0), x);
  return Status::Ok();
}

Status EvalInstanceNorm(EvalContext& ctx) {
  const Tensor& x = *ctx.input(0);
  const Tensor &scale = *ctx.input(1), &bias = *ctx.input(2);
  const double eps = ctx.attrs().GetFloat("epsilon", 1e-5);
  const Shape& s = x.shape();
  const int64_t c = s[1], sp = NumElements(Shape(s.begin() + 2, s.end()));
  Tensor y = ctx.NewOutput(0);
  for (int64_t nc = 0; nc < s[0] * c; ++nc) {
    double sum = 0, sq = 0;
    for (int64_t e = 0; e < sp; ++e) sum += x.GetDouble(nc * sp + e);
    const double mean = sum / static_cast<double>(sp);
    for (int64_t e = 0; e < sp; ++e) sq += std::pow(x.GetDouble(nc * sp + e) - mean, 2);
    const double k = scale.GetDouble(nc % c) / std::sqrt(sq / static_cast<double>(sp) + eps);
    for (int64_t e = 0; e < sp; ++e) {
      y.SetDouble(nc * sp + e, (x.GetDouble(nc * sp + e) - mean) * k + bias.GetDouble(nc % c));
    }
  }
  ctx.SetOutput(0, std::move(y));
  return Status::Ok();
}

}  // namespace

void RegisterNormalizationOps(OpRegistry& r) {
  for (const char* op : {"Softmax", "LogSoftmax", "Hardmax"}) {
    r.Add({op, 1, 1, 1, 1, {{"axis", K::kInt}}, InferSoftmax, EvalSoftmax});
  }
  r.Add({"BatchNormalization",
         5,
         5,
         1,
         5,
         {{"epsilon", K::kFloat},
          {"momentum", K::kFloat},
          {"training_mode", K::kInt},
          {"spatial", K::kInt}},
         InferBatchNorm,
         EvalBatchNorm});
  r.Add({"LayerNormalization",
         1,
         3,
         1,
         3,
         {{"axis", K::kInt}, {"epsilon", K::kFloat}, {"stash_type", K::kInt}},
         InferLayerNorm,
         EvalLayerNorm});
  r.Add({"InstanceNormalization",
         3,
         3,
         1,
         1,
         {{"epsilon", K::kFloat}},
         InferInstanceNorm,
         EvalInstanceNorm});
}

}  // namespace opal::graph
