// Cutting an ONNX forward graph into pipeline layers (ModelFromGraph).
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "opal/plan_model.h"

namespace opal::plan {
namespace {

bool IsConstant(const Value& v) { return v.is_initializer || v.constant != nullptr; }

double Bytes(const Value& v) {
  return static_cast<double>(NumElements(v.shape)) *
         static_cast<double>(std::max<size_t>(DTypeSize(v.dtype), 1));
}

// Forward FLOP of a node in matrix products (0 for other operators).
double MatmulFlops(const Graph& g, const Node& n) {
  if (n.outputs.empty() || n.inputs.size() < 2) return 0;
  const Value& out = g.value(n.outputs[0]);
  const Value& a = g.value(n.inputs[0]);
  const Value& b = g.value(n.inputs[1]);
  if (!out.shape_known || !a.shape_known || !b.shape_known || a.shape.empty()) return 0;
  double outn = static_cast<double>(NumElements(out.shape));
  if (n.op_type == "MatMul") return 2 * outn * static_cast<double>(a.shape.back());
  if (n.op_type == "Gemm") {
    bool ta = n.attrs.GetInt("transA", 0) != 0;
    return 2 * outn * static_cast<double>(ta ? a.shape.front() : a.shape.back());
  }
  if (n.op_type == "Conv" && b.shape.size() >= 2) {
    double k = 1;
    for (size_t i = 1; i < b.shape.size(); ++i) k *= static_cast<double>(b.shape[i]);
    return 2 * outn * k;
  }
  return 0;
}

}  // namespace

Result<ModelSpec> ModelFromGraph(const Graph& g, int64_t batch, int max_layers) {
  if (batch <= 0) return Error(ErrorCode::kInvalidArgument, "batch must be > 0, got {}", batch);
  const int n = static_cast<int>(g.num_nodes());
  if (n == 0) return Error(ErrorCode::kInvalidModel, "graph '{}' has no nodes", g.name);
  // Position of each node; last position reading each value (graph outputs live to the end).
  std::vector<int> last_use(g.num_values(), -1), produced_at(g.num_values(), -1);
  for (int i = 0; i < n; ++i) {
    for (ValueId v : g.node(i).inputs)
      if (v != kNoValue) last_use[v] = std::max(last_use[v], i);
    for (ValueId v : g.node(i).outputs) produced_at[v] = i;
  }
  for (ValueId v : g.outputs()) last_use[v] = n;
  // live[i] = values crossing the boundary before node i (made before i, read at or after i).
  std::vector<int> live(n + 1, 0);
  std::vector<ValueId> crossing(n + 1, kNoValue);
  for (size_t v = 0; v < g.num_values(); ++v) {
    const Value& val = g.value(static_cast<ValueId>(v));
    if (IsConstant(val) || last_use[v] < 0) continue;
    int from = produced_at[v] + 1;  // graph inputs: produced_at = -1 -> live from boundary 0
    for (int i = std::max(from, 1); i <= std::min(last_use[v], n - 1); ++i) {
      ++live[i];
      crossing[i] = static_cast<ValueId>(v);
    }
  }
  std::vector<int> cuts{0};
  for (int i = 1; i < n; ++i)
    if (live[i] == 1) cuts.push_back(i);
  cuts.push_back(n);

  ModelSpec m;
  m.name = g.name.empty() ? "onnx" : g.name;
  m.global_batch = batch;
  const double b = static_cast<double>(batch);
  std::set<ValueId> params_seen;
  for (size_t c = 0; c + 1 < cuts.size(); ++c) {
    LayerSpec l;
    l.name = g.node(cuts[c]).name;
    for (int i = cuts[c]; i < cuts[c + 1]; ++i) {
      const Node& node = g.node(i);
      for (ValueId v : node.outputs)
        if (!g.value(v).shape_known)
          return Error(ErrorCode::kInvalidModel,
                       "{}: output '{}' has an unknown shape ({}); the planner needs all shapes",
                       node.Describe(), g.value(v).name, g.value(v).unknown_reason);
      double f = MatmulFlops(g, node);
      l.matmul_flops += f / b;
      double out = 0;
      for (ValueId v : node.outputs) out += Bytes(g.value(v));
      if (f == 0) l.other_bytes += 2 * out / b;  // read + write of an elementwise-like operator
      l.act_bytes += out / b;
      for (ValueId v : node.inputs)
        if (v != kNoValue && g.value(v).is_initializer && params_seen.insert(v).second)
          l.params += static_cast<double>(NumElements(g.value(v).shape));
    }
    ValueId x = crossing[cuts[c + 1]];
    l.out_bytes = cuts[c + 1] < n && x != kNoValue ? Bytes(g.value(x)) / b : 0;
    m.layers.push_back(l);
  }
  // Merge the lightest neighbours until at most max_layers remain.
  auto work = [](const LayerSpec& l) { return l.matmul_flops + 100 * l.other_bytes; };
  while (static_cast<int>(m.layers.size()) > std::max(1, max_layers)) {
    size_t best = 0;
    for (size_t i = 0; i + 1 < m.layers.size(); ++i)
      if (work(m.layers[i]) + work(m.layers[i + 1]) <
          work(m.layers[best]) + work(m.layers[best + 1]))
        best = i;
    LayerSpec& a = m.layers[best];
    const LayerSpec& c = m.layers[best + 1];
    a.matmul_flops += c.matmul_flops;
    a.other_bytes += c.other_bytes;
    a.params += c.params;
    a.act_bytes += c.act_bytes;
    a.out_bytes = c.out_bytes;
    m.layers.erase(m.layers.begin() + static_cast<long>(best) + 1);
  }
  const Value* first_in = g.inputs().empty() ? nullptr : &g.value(g.inputs()[0]);
  m.seq_len = first_in && first_in->shape.size() >= 2 ? static_cast<int>(first_in->shape[1]) : 1;
  return m;
}

}  // namespace opal::plan
