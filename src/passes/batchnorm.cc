// FoldBatchNorm: an inference BatchNormalization after a Conv becomes a per-output-channel scale
// of the Conv's weights and a shift of its bias:
//   s = scale / sqrt(var + epsilon), t = B - mean * s;  W'[k] = W[k] * s[k];  b'[k] = b[k] * s[k] +
//   t[k]
// BatchNormAsAffine: any other inference BatchNormalization becomes Mul(x, s) then Add(., t) with
//   s and t as above, both constants of shape [C, 1, ...] (broadcast along axis 1).
#include <cmath>
#include <memory>
#include <optional>
#include <vector>

#include "passes/graph_edit.h"
#include "passes/passes.h"

namespace opal::passes {
namespace {

// The constant float32 tensor of `id` when it has `count` elements, else nullptr.
const Tensor* F32Constant(const Graph& g, ValueId id, int64_t count) {
  if (id == kNoValue) return nullptr;
  const Value& v = g.value(id);
  if (!v.constant || v.constant->dtype() != DType::kFloat32) return nullptr;
  if (count >= 0 && v.constant->size() != count) return nullptr;
  return v.constant.get();
}

ValueId AddConstant(Graph& g, const std::string& base, Tensor t) {
  Value v;
  v.name = UniqueValueName(g, base);
  v.dtype = t.dtype();
  v.shape = t.shape();
  v.shape_known = true;
  v.is_initializer = true;
  v.constant = std::make_shared<const Tensor>(std::move(t));
  return g.AddValue(std::move(v));
}

// The per-channel affine form y = x * s + t of inference BatchNormalization `bn` over `channels`
// channels: s = scale / sqrt(var + epsilon), t = B - mean * s. nullopt unless `bn` is in inference
// form (no training mode, spatial, only Y used) with float32 constant parameters of that length.
struct Affine {
  std::vector<double> s, t;
};
std::optional<Affine> InferenceAffine(const Graph& g, const Node& bn, int64_t channels) {
  if (bn.inputs.size() < 5 || bn.outputs.empty() || bn.outputs[0] == kNoValue) return std::nullopt;
  if (bn.attrs.GetInt("training_mode", 0) != 0 || bn.attrs.GetInt("spatial", 1) == 0)
    return std::nullopt;
  for (size_t i = 1; i < bn.outputs.size(); ++i)
    if (bn.outputs[i] != kNoValue && !IsUnused(g, bn.outputs[i])) return std::nullopt;
  const Tensor* scale = F32Constant(g, bn.inputs[1], channels);
  const Tensor* shift = F32Constant(g, bn.inputs[2], channels);
  const Tensor* mean = F32Constant(g, bn.inputs[3], channels);
  const Tensor* var = F32Constant(g, bn.inputs[4], channels);
  if (!scale || !shift || !mean || !var) return std::nullopt;
  const double eps = bn.attrs.GetFloat("epsilon", 1e-5);
  Affine a;
  for (int64_t k = 0; k < channels; ++k) {
    const double sk =
        double(scale->data<float>()[k]) / std::sqrt(double(var->data<float>()[k]) + eps);
    a.s.push_back(sk);
    a.t.push_back(double(shift->data<float>()[k]) - double(mean->data<float>()[k]) * sk);
  }
  return a;
}

// Folds BN node `bn_id` into its producer if every condition holds; returns whether it did.
bool TryFold(Graph& g, NodeId bn_id) {
  const Node& bn = g.node(bn_id);
  if (bn.inputs.empty() || bn.outputs.empty()) return false;
  const ValueId x = bn.inputs[0];
  const Value& xv = g.value(x);
  if (xv.producer < 0 || xv.is_graph_output || xv.dtype != DType::kFloat32 || !xv.shape_known ||
      xv.shape.size() < 2 || g.Consumers(x).size() != 1) {
    return false;
  }
  const NodeId conv_id = xv.producer;
  const Node& conv = g.node(conv_id);
  if (!IsOnnxOp(conv, "Conv") || conv.inputs.size() < 2 || conv.inputs.size() > 3) return false;
  const int64_t channels = xv.shape[1];
  const Tensor* w = F32Constant(g, conv.inputs[1], -1);
  if (!w || w->shape().empty() || w->shape()[0] != channels) return false;
  const bool has_bias = conv.inputs.size() == 3 && conv.inputs[2] != kNoValue;
  const Tensor* bias = has_bias ? F32Constant(g, conv.inputs[2], channels) : nullptr;
  if (has_bias && !bias) return false;
  const std::optional<Affine> a = InferenceAffine(g, bn, channels);
  if (!a) return false;

  const int64_t per_channel = w->size() / channels;
  Tensor new_w(DType::kFloat32, w->shape());
  Tensor new_b(DType::kFloat32, {channels});
  const float* wd = w->data<float>();
  float* nw = new_w.data<float>();
  for (int64_t k = 0; k < channels; ++k) {
    for (int64_t e = 0; e < per_channel; ++e) {
      nw[k * per_channel + e] = static_cast<float>(double(wd[k * per_channel + e]) * a->s[k]);
    }
    const double b = bias ? double(bias->data<float>()[k]) : 0.0;
    new_b.data<float>()[k] = static_cast<float>(b * a->s[k] + a->t[k]);
  }
  const std::string w_name = g.value(conv.inputs[1]).name;
  const ValueId y = bn.outputs[0];
  const ValueId w_id = AddConstant(g, w_name + "_bnfold", std::move(new_w));
  const ValueId b_id = AddConstant(g, w_name + "_bnfold_bias", std::move(new_b));

  Node& c = g.mutable_node(conv_id);
  c.inputs.resize(3, kNoValue);
  c.inputs[1] = w_id;
  c.inputs[2] = b_id;
  c.outputs[0] = y;
  g.mutable_value(y).producer = conv_id;
  g.mutable_value(x).producer = -1;
  Node& dead = g.mutable_node(bn_id);
  dead.inputs.clear();
  dead.outputs.clear();
  return true;
}

// Rewrites BN node `bn_id` as Mul + Add with constant operands when it is in inference form with
// float32 constant parameters; returns whether it did.
bool TryAffine(Graph& g, NodeId bn_id) {
  const Node& bn = g.node(bn_id);
  if (bn.inputs.empty() || bn.outputs.empty()) return false;
  const ValueId x = bn.inputs[0];
  const Value& xv = g.value(x);
  if (xv.dtype != DType::kFloat32 || !xv.shape_known || xv.shape.size() < 2) return false;
  const int64_t channels = xv.shape[1];
  const std::optional<Affine> a = InferenceAffine(g, bn, channels);
  if (!a) return false;
  Shape cshape(xv.shape.size() - 1, 1);
  cshape[0] = channels;
  Tensor s(DType::kFloat32, cshape), t(DType::kFloat32, cshape);
  for (int64_t k = 0; k < channels; ++k) {
    s.data<float>()[k] = static_cast<float>(a->s[k]);
    t.data<float>()[k] = static_cast<float>(a->t[k]);
  }
  const std::string base = bn.name.empty() ? xv.name : bn.name;
  const ValueId y = bn.outputs[0];
  const ValueId s_id = AddConstant(g, base + "_bn_scale", std::move(s));
  const ValueId t_id = AddConstant(g, base + "_bn_shift", std::move(t));
  Value mid;
  mid.name = UniqueValueName(g, base + "_bn_scaled");
  mid.dtype = DType::kFloat32;
  mid.shape = g.value(x).shape;
  mid.shape_known = true;
  const ValueId m_id = g.AddValue(std::move(mid));
  Node add;
  add.name = g.node(bn_id).name + "_shift";
  add.op_type = "Add";
  add.inputs = {m_id, t_id};
  add.outputs = {y};
  Node& mul = g.mutable_node(bn_id);
  mul.op_type = "Mul";
  mul.attrs = Attributes();
  mul.inputs = {x, s_id};
  mul.outputs = {m_id};
  g.mutable_value(m_id).producer = bn_id;
  g.AddNode(std::move(add));
  return true;
}

}  // namespace

Result<PassStats> BatchNormAsAffine(Graph& g) {
  PassStats stats{"batchnorm-as-affine", 0};
  const size_t n = g.num_nodes();
  for (size_t i = 0; i < n; ++i) {
    const auto id = static_cast<NodeId>(i);
    if (IsOnnxOp(g.node(id), "BatchNormalization") && TryAffine(g, id)) ++stats.changed;
  }
  OPAL_RETURN_IF_ERROR(g.TopologicalSort());
  return stats;
}

Result<PassStats> FoldBatchNorm(Graph& g) {
  PassStats stats{"fold-batchnorm", 0};
  std::vector<NodeId> drop;
  for (size_t i = 0; i < g.num_nodes(); ++i) {
    const auto id = static_cast<NodeId>(i);
    if (!IsOnnxOp(g.node(id), "BatchNormalization")) continue;
    if (TryFold(g, id)) {
      drop.push_back(id);
      ++stats.changed;
    }
  }
  g.RemoveNodes(drop);
  OPAL_RETURN_IF_ERROR(g.TopologicalSort());
  return stats;
}

}  // namespace opal::passes
