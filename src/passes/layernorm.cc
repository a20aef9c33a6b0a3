// FuseLayerNorm: the layer normalisation that exporters write out as nine nodes (opset < 17 has
// no LayerNormalization op) becomes one LayerNormalization node (representation in passes.h).
#include <cmath>
#include <optional>

#include "passes/graph_edit.h"
#include "passes/passes.h"

namespace opal::passes {
namespace {

// The single node reading `v` (nullopt when v has another reader or is a graph output).
std::optional<NodeId> OnlyReader(const Graph& g, ValueId v) {
  if (v == kNoValue || g.value(v).is_graph_output) return std::nullopt;
  const std::vector<NodeId> r = g.Consumers(v);
  if (r.size() != 1) return std::nullopt;
  return r[0];
}

// The value of a one-element float constant, or nullopt.
std::optional<double> ScalarOf(const Graph& g, ValueId v) {
  if (v == kNoValue) return std::nullopt;
  const auto& c = g.value(v).constant;
  if (!c || c->size() != 1 || !IsFloat(c->dtype())) return std::nullopt;
  return c->GetDouble(0);
}

// The other input of binary node n (the one that is not `v`), or kNoValue.
ValueId Other(const Node& n, ValueId v) {
  if (n.inputs.size() != 2) return kNoValue;
  if (n.inputs[0] == v) return n.inputs[1];
  if (n.inputs[1] == v) return n.inputs[0];
  return kNoValue;
}

// The first reduced axis of ReduceMean node `n` over x when it reduces the trailing axes of x with
// keepdims, else nullopt.
std::optional<int> TrailingMean(const Graph& g, const Node& n, ValueId x) {
  if (!IsOnnxOp(n, "ReduceMean") || n.inputs.empty() || n.inputs[0] != x || n.outputs.size() != 1) return std::nullopt;
  if (n.attrs.GetInt("keepdims", 1) != 1) return std::nullopt;
  std::vector<int64_t> axes = n.attrs.GetInts("axes", {});
  if (n.inputs.size() > 1 && n.inputs[1] != kNoValue) {
    const auto& c = g.value(n.inputs[1]).constant;
    if (!c) return std::nullopt;
    axes.clear();
    for (int64_t i = 0; i < c->size(); ++i) axes.push_back(c->GetInt(i));
  }
  const int r = static_cast<int>(g.value(x).shape.size());
  if (axes.empty() || r == 0) return std::nullopt;
  std::vector<bool> red(static_cast<size_t>(r), false);
  for (int64_t a : axes) {
    if (a < -r || a >= r) return std::nullopt;
    red[static_cast<size_t>(a < 0 ? a + r : a)] = true;
  }
  int first = r;
  while (first > 0 && red[static_cast<size_t>(first - 1)]) --first;
  for (int d = 0; d < first; ++d)
    if (red[static_cast<size_t>(d)]) return std::nullopt;  // not a trailing block
  return first;
}

struct Match {
  NodeId mean, sub, pow, var, add, sqrt, div, mul = -1, shift = -1;
  ValueId x, gamma = kNoValue, beta = kNoValue, out;
  int axis = -1;
  double eps = 0;
};

// Matches the pattern that starts at ReduceMean node `m`.
std::optional<Match> MatchAt(const Graph& g, NodeId m) {
  const Node& mean = g.node(m);
  if (!IsOnnxOp(mean, "ReduceMean") || mean.inputs.empty()) return std::nullopt;
  Match k;
  k.mean = m;
  k.x = mean.inputs[0];
  const Value& xv = g.value(k.x);
  if (!xv.shape_known || xv.dtype != DType::kFloat32) return std::nullopt;
  auto axis = TrailingMean(g, mean, k.x);
  if (!axis) return std::nullopt;
  k.axis = *axis;
  auto sub = OnlyReader(g, mean.outputs[0]);
  if (!sub || !IsOnnxOp(g.node(*sub), "Sub") || g.node(*sub).inputs.size() != 2 || g.node(*sub).inputs[0] != k.x ||
      g.node(*sub).inputs[1] != mean.outputs[0])
    return std::nullopt;
  k.sub = *sub;
  const ValueId d = g.node(k.sub).outputs[0];
  const std::vector<NodeId> dr = g.Consumers(d);
  if (dr.size() != 2 || g.value(d).is_graph_output) return std::nullopt;
  const bool pow_first = IsOnnxOp(g.node(dr[0]), "Pow") || IsOnnxOp(g.node(dr[0]), "Mul");
  k.pow = pow_first ? dr[0] : dr[1];
  k.div = pow_first ? dr[1] : dr[0];
  const Node& pw = g.node(k.pow);
  const bool square = (IsOnnxOp(pw, "Pow") && pw.inputs.size() == 2 && pw.inputs[0] == d && ScalarOf(g, pw.inputs[1]) == 2.0) ||
                      (IsOnnxOp(pw, "Mul") && pw.inputs.size() == 2 && pw.inputs[0] == d && pw.inputs[1] == d);
  if (!square) return std::nullopt;
  auto var = OnlyReader(g, pw.outputs[0]);
  if (!var || TrailingMean(g, g.node(*var), pw.outputs[0]) != k.axis) return std::nullopt;
  k.var = *var;
  auto add = OnlyReader(g, g.node(k.var).outputs[0]);
  if (!add || !IsOnnxOp(g.node(*add), "Add")) return std::nullopt;
  k.add = *add;
  auto eps = ScalarOf(g, Other(g.node(k.add), g.node(k.var).outputs[0]));
  if (!eps || !(*eps >= 0)) return std::nullopt;
  k.eps = *eps;
  auto sq = OnlyReader(g, g.node(k.add).outputs[0]);
  if (!sq || !IsOnnxOp(g.node(*sq), "Sqrt")) return std::nullopt;
  k.sqrt = *sq;
  const Node& dv = g.node(k.div);
  if (!IsOnnxOp(dv, "Div") || dv.inputs.size() != 2 || dv.inputs[0] != d || dv.inputs[1] != g.node(k.sqrt).outputs[0] ||
      !OnlyReader(g, g.node(k.sqrt).outputs[0]))
    return std::nullopt;
  k.out = dv.outputs[0];
  // An optional scale then shift by values of the normalised dims' shape.
  const Shape normalised(xv.shape.begin() + k.axis, xv.shape.end());
  auto affine = [&](const char* op, NodeId* node, ValueId* operand) {
    auto r = OnlyReader(g, k.out);
    if (!r || !IsOnnxOp(g.node(*r), op)) return;
    const ValueId o = Other(g.node(*r), k.out);
    if (o == kNoValue || !g.value(o).shape_known || g.value(o).shape != normalised ||
        g.value(o).dtype != DType::kFloat32 || g.value(g.node(*r).outputs[0]).shape != xv.shape)
      return;
    *node = *r;
    *operand = o;
    k.out = g.node(*r).outputs[0];
  };
  affine("Mul", &k.mul, &k.gamma);
  if (k.mul >= 0) affine("Add", &k.shift, &k.beta);
  return k;
}

}  // namespace

Result<PassStats> FuseLayerNorm(Graph& g) {
  PassStats stats{"fuse-layernorm", 0};
  std::vector<NodeId> drop;
  for (NodeId id = 0; id < static_cast<NodeId>(g.num_nodes()); ++id) {
    auto m = MatchAt(g, id);
    if (!m) continue;
    const Value& xv = g.value(m->x);
    ValueId gamma = m->gamma;
    if (gamma == kNoValue) {  // LayerNormalization needs a scale: ones
      Tensor ones(DType::kFloat32, Shape(xv.shape.begin() + m->axis, xv.shape.end()));
      for (int64_t i = 0; i < ones.size(); ++i) ones.data<float>()[i] = 1.f;
      Value v;
      v.name = UniqueValueName(g, g.node(id).name + "_ln_scale");
      v.dtype = DType::kFloat32;
      v.shape = ones.shape();
      v.shape_known = true;
      v.is_initializer = true;
      v.constant = std::make_shared<const Tensor>(std::move(ones));
      gamma = g.AddValue(std::move(v));
    }
    // The Div (or the last affine node) becomes the LayerNormalization; the rest go.
    const NodeId keep = m->shift >= 0 ? m->shift : m->mul >= 0 ? m->mul : m->div;
    Node& ln = g.mutable_node(keep);
    ln.op_type = "LayerNormalization";
    ln.domain = "";
    ln.inputs = {m->x, gamma};
    if (m->beta != kNoValue) ln.inputs.push_back(m->beta);
    ln.outputs = {m->out};
    ln.attrs = Attributes();
    Attribute axis;
    axis.kind = Attribute::Kind::kInt;
    axis.i = m->axis;
    ln.attrs.Set("axis", axis);
    Attribute eps;
    eps.kind = Attribute::Kind::kFloat;
    eps.f = m->eps;
    ln.attrs.Set("epsilon", eps);
    for (NodeId n : {m->mean, m->sub, m->pow, m->var, m->add, m->sqrt, m->div, m->mul, m->shift}) {
      if (n < 0 || n == keep) continue;
      Node& dead = g.mutable_node(n);
      for (ValueId o : dead.outputs)
        if (o != kNoValue) g.mutable_value(o).producer = -1;
      dead.inputs.clear();
      dead.outputs.clear();
      drop.push_back(n);
    }
    g.mutable_value(m->out).producer = keep;
    ++stats.changed;
  }
  g.RemoveNodes(drop);
  OPAL_RETURN_IF_ERROR(g.TopologicalSort());
  return stats;
}

}  // namespace opal::passes
