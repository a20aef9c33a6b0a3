// FuseEpilogues: element-wise steps after a Conv / Gemm / MatMul move into that node as the
// "opal_epilogue" attribute (representation in passes.h).
#include <fmt/format.h>

#include <cmath>
#include <optional>

#include "passes/graph_edit.h"
#include "passes/passes.h"

namespace opal::passes {
namespace {

// The number of inputs the ONNX op can have; epilogue operands are appended after them (an
// omitted bias / C is padded with kNoValue, so input 2 of a Conv is always its bias).
int ContractionArity(const Node& n) {
  if (n.outputs.size() != 1 || !n.supported) return 0;
  if (IsOnnxOp(n, "Conv") || IsOnnxOp(n, "Gemm")) return 3;
  if (IsOnnxOp(n, "MatMul")) return 2;
  return 0;
}

struct Step {
  std::string kind;  // "add", "mul", "relu" or the full "clip:LO:HI"
  ValueId operand = kNoValue;
};

// True when `small` broadcasts to `out` (ONNX multidirectional, right-aligned) without making
// any dimension larger than `out`'s.
bool BroadcastsInto(const Shape& small, const Shape& out) {
  if (small.size() > out.size()) return false;
  const size_t off = out.size() - small.size();
  for (size_t i = 0; i < small.size(); ++i) {
    if (small[i] != 1 && small[i] != out[off + i]) return false;
  }
  return true;
}

// A scalar bound of Clip: input `i` (opset 11+, must be constant) or attribute `attr` (before).
// nullopt when the bound is computed at run time.
std::optional<double> ClipBound(const Graph& g, const Node& n, size_t i, const char* attr,
                                double dflt) {
  if (i < n.inputs.size() && n.inputs[i] != kNoValue) {
    const Value& v = g.value(n.inputs[i]);
    if (!v.constant || v.constant->size() != 1) return std::nullopt;
    return v.constant->GetDouble(0);
  }
  return n.attrs.GetFloat(attr, dflt);
}

std::string FormatBound(double v) {
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  return fmt::format("{:.9g}", v);
}

// The epilogue step node `s` computes from `cur` (the contraction's current output), or nullopt
// when it cannot be fused into the contraction at position `pos`.
std::optional<Step> MatchStep(const Graph& g, const Node& s, ValueId cur, NodeId pos) {
  if (s.outputs.size() != 1 || s.outputs[0] == kNoValue || s.inputs.empty()) return std::nullopt;
  const Value& in = g.value(cur);
  const Value& out = g.value(s.outputs[0]);
  if (out.dtype != DType::kFloat32 || !out.shape_known || out.shape != in.shape)
    return std::nullopt;
  if (IsOnnxOp(s, "Relu")) {
    if (s.inputs.size() != 1 || s.inputs[0] != cur) return std::nullopt;
    return Step{"relu", kNoValue};
  }
  if (IsOnnxOp(s, "Clip")) {
    if (s.inputs[0] != cur) return std::nullopt;
    auto lo = ClipBound(g, s, 1, "min", -INFINITY);
    auto hi = ClipBound(g, s, 2, "max", INFINITY);
    if (!lo || !hi || std::isnan(*lo) || std::isnan(*hi)) return std::nullopt;
    return Step{"clip:" + FormatBound(*lo) + ":" + FormatBound(*hi), kNoValue};
  }
  const bool add = IsOnnxOp(s, "Add"), mul = IsOnnxOp(s, "Mul");
  if ((!add && !mul) || s.inputs.size() != 2) return std::nullopt;
  const ValueId other = s.inputs[0] == cur ? s.inputs[1] : s.inputs[0];
  if (other == cur || other == kNoValue || (s.inputs[0] != cur && s.inputs[1] != cur)) {
    return std::nullopt;
  }
  const Value& o = g.value(other);
  if (o.dtype != DType::kFloat32 || !o.shape_known || !BroadcastsInto(o.shape, in.shape)) {
    return std::nullopt;
  }
  // The operand must exist before the contraction runs: a constant, a graph input, or computed
  // by an earlier node. (Of a residual Add of two contraction outputs, the later one takes it.)
  if (!o.constant && o.producer >= pos) return std::nullopt;
  return Step{add ? "add" : "mul", other};
}

}  // namespace

Result<PassStats> FuseEpilogues(Graph& g) {
  PassStats stats{"fuse-epilogues", 0};
  std::vector<NodeId> drop;
  for (size_t i = 0; i < g.num_nodes(); ++i) {
    const auto id = static_cast<NodeId>(i);
    const int arity = ContractionArity(g.node(id));
    if (arity == 0) continue;
    while (true) {
      const ValueId cur = g.node(id).outputs[0];
      if (cur == kNoValue) break;
      const Value& cv = g.value(cur);
      if (cv.is_graph_output || cv.dtype != DType::kFloat32 || !cv.shape_known) break;
      std::vector<NodeId> consumers = g.Consumers(cur);
      if (consumers.size() != 1) break;
      const NodeId sid = consumers[0];
      std::optional<Step> step = MatchStep(g, g.node(sid), cur, id);
      if (!step) break;

      Node& n = g.mutable_node(id);
      std::string text = step->kind;
      if (step->operand != kNoValue) {
        if (n.inputs.size() < static_cast<size_t>(arity)) n.inputs.resize(arity, kNoValue);
        text += ":" + std::to_string(n.inputs.size());
        n.inputs.push_back(step->operand);
      }
      Attribute attr;
      if (const Attribute* old = n.attrs.Find("opal_epilogue")) attr = *old;
      attr.kind = Attribute::Kind::kStrings;
      attr.strings.push_back(text);
      n.attrs.Set("opal_epilogue", std::move(attr));

      Node& s = g.mutable_node(sid);
      const ValueId out = s.outputs[0];
      s.inputs.clear();
      s.outputs.clear();
      n.outputs[0] = out;
      g.mutable_value(out).producer = id;
      g.mutable_value(cur).producer = -1;
      drop.push_back(sid);
      ++stats.changed;
    }
  }
  g.RemoveNodes(drop);
  // A constant operand may come from a (folded) node placed after the contraction.
  OPAL_RETURN_IF_ERROR(g.TopologicalSort());
  return stats;
}

}  // namespace opal::passes
