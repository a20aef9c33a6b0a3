#include "opal/tasks.h"

#include <algorithm>

#include "graph/ops/window.h"

namespace opal {
namespace {

Status NeedShapes(const Graph& g, const Node& n) {
  for (ValueId v : n.inputs) {
    if (v == kNoValue) continue;
    const Value& val = g.value(v);
    if (!val.shape_known) {
      return Error(ErrorCode::kUnsupported, "shape of '{}' is unknown: {}", val.name, val.unknown_reason);
    }
  }
  return Status::Ok();
}

Status NeedFloat(const Value& v) {
  if (!IsFloat(v.dtype)) {
    return Error(ErrorCode::kUnsupported, "element type {} is not tunable (float types only)", DTypeName(v.dtype));
  }
  return Status::Ok();
}

Result<Workload> ConvWorkload(const Graph& g, const Node& n) {
  const Value& x = g.value(n.inputs[0]);
  const Value& w = g.value(n.inputs[1]);
  OPAL_RETURN_IF_ERROR(NeedFloat(x));
  if (x.shape.size() != 3 && x.shape.size() != 4) {
    return Error(ErrorCode::kUnsupported, "{}-D convolution is not tunable (1-D and 2-D only)", x.shape.size() - 2);
  }
  std::vector<int64_t> in(x.shape.begin() + 2, x.shape.end()), kernel(w.shape.begin() + 2, w.shape.end());
  OPAL_ASSIGN_OR_RETURN(graph::WindowGeometry geo, graph::ResolveWindow(n.attrs, in, kernel, false));
  const bool one_d = in.size() == 1;
  // A 1-D convolution is a 2-D one over a height of 1.
  auto at = [&](const std::vector<int64_t>& v, size_t i2d, int64_t one) { return one_d ? (i2d == 0 ? one : v[0]) : v[i2d]; };
  Json j = {{"op", "conv2d"},
            {"dtype", DTypeName(x.dtype)},
            {"layout", "NCHW"},
            {"n", x.shape[0]},
            {"c", x.shape[1]},
            {"h", at(in, 0, 1)},
            {"w", at(in, 1, 1)},
            {"k", w.shape[0]},
            {"kh", at(kernel, 0, 1)},
            {"kw", at(kernel, 1, 1)},
            {"stride_h", at(geo.strides, 0, 1)},
            {"stride_w", at(geo.strides, 1, 1)},
            {"dilation_h", at(geo.dilations, 0, 1)},
            {"dilation_w", at(geo.dilations, 1, 1)},
            {"groups", n.attrs.GetInt("group", 1)}};
  const size_t r = in.size();
  j["pad_top"] = one_d ? 0 : geo.pads[0];
  j["pad_left"] = one_d ? geo.pads[0] : geo.pads[1];
  j["pad_bottom"] = one_d ? 0 : geo.pads[r];
  j["pad_right"] = one_d ? geo.pads[r] : geo.pads[r + 1];
  return Workload::FromJson(j);
}

Result<Workload> GemmWorkload(const Graph& g, const Node& n) {
  const Value& a = g.value(n.inputs[0]);
  const Value& b = g.value(n.inputs[1]);
  OPAL_RETURN_IF_ERROR(NeedFloat(a));
  bool ta = n.attrs.GetInt("transA", 0) != 0, tb = n.attrs.GetInt("transB", 0) != 0;
  Json j = {{"op", "dense"},
            {"dtype", DTypeName(a.dtype)},
            {"m", ta ? a.shape[1] : a.shape[0]},
            {"k", ta ? a.shape[0] : a.shape[1]},
            {"n", tb ? b.shape[0] : b.shape[1]},
            {"trans_a", ta},
            {"trans_b", tb}};
  return Workload::FromJson(j);
}

Result<Workload> MatMulWorkload(const Graph& g, const Node& n) {
  const Value& a = g.value(n.inputs[0]);
  const Value& b = g.value(n.inputs[1]);
  OPAL_RETURN_IF_ERROR(NeedFloat(a));
  Shape as = a.shape.size() == 1 ? Shape{1, a.shape[0]} : a.shape;
  Shape bs = b.shape.size() == 1 ? Shape{b.shape[0], 1} : b.shape;
  const int64_t m = as[as.size() - 2], k = as.back(), nn = bs.back();
  Shape ab(as.begin(), as.end() - 2), bb(bs.begin(), bs.end() - 2);
  const int64_t a_batch = NumElements(ab), b_batch = NumElements(bb);
  Json j = {{"dtype", DTypeName(a.dtype)}, {"k", k}, {"n", nn}};
  if (b_batch == 1) {
    // B is one matrix shared by every batch of A: A's rows are contiguous, so this is one dense
    // product with M = (A's batch) * m.
    j["op"] = "dense";
    j["m"] = a_batch * m;
    j["trans_a"] = false;
    j["trans_b"] = false;
    return Workload::FromJson(j);
  }
  // Right-align batch dims; equal batches or a single shared A are tunable.
  size_t r = std::max(ab.size(), bb.size());
  ab.insert(ab.begin(), r - ab.size(), 1);
  bb.insert(bb.begin(), r - bb.size(), 1);
  j["op"] = "batch_matmul";
  j["m"] = m;
  j["batch"] = b_batch;
  if (ab == bb) {
    j["broadcast"] = "none";
  } else if (a_batch == 1) {
    j["broadcast"] = "a";
  } else {
    return Error(ErrorCode::kUnsupported, "MatMul with mixed batch broadcasting ({} x {}) is not tunable",
                 ShapeToString(a.shape), ShapeToString(b.shape));
  }
  return Workload::FromJson(j);
}

bool IsReduction(const std::string& op) {
  return op.rfind("Reduce", 0) == 0 || op == "GlobalAveragePool" || op == "GlobalMaxPool" || op == "Softmax" ||
         op == "LogSoftmax" || op == "LayerNormalization";
}

}  // namespace

Result<std::optional<Workload>> WorkloadOfNode(const Graph& g, const Node& n) {
  if (!n.supported || (n.op_type != "Conv" && n.op_type != "Gemm" && n.op_type != "MatMul")) {
    return std::optional<Workload>();
  }
  OPAL_RETURN_IF_ERROR(NeedShapes(g, n));
  Result<Workload> w = n.op_type == "Conv"   ? ConvWorkload(g, n)
                       : n.op_type == "Gemm" ? GemmWorkload(g, n)
                                             : MatMulWorkload(g, n);
  if (!w.ok()) return w.status();
  return std::optional<Workload>(std::move(w).value());
}

TaskList ExtractTasks(const Graph& g) {
  TaskList out;
  out.unsupported_ops = g.UnsupportedOps();
  std::map<std::string, size_t> by_key;
  for (const Node& n : g.nodes()) {
    if (!n.supported) continue;
    auto w = WorkloadOfNode(g, n);
    if (!w.ok()) {
      out.skipped.push_back({n.name, n.op_type, w.status().message()});
      continue;
    }
    if (!w->has_value()) {
      ++out.other_ops[n.op_type];
      // Rough cost of non-tunable ops: one FLOP per output element, or per input element for
      // reductions; data movement ops (Reshape, Transpose, ...) count too, as memory traffic.
      for (ValueId v : IsReduction(n.op_type) ? n.inputs : n.outputs) {
        if (v != kNoValue && g.value(v).shape_known && !g.value(v).constant) {
          out.other_flops += double(NumElements(g.value(v).shape));
        }
      }
      continue;
    }
    const Workload& wl = **w;
    std::string key = wl.Key();
    auto it = by_key.find(key);
    if (it == by_key.end()) {
      it = by_key.emplace(key, out.tasks.size()).first;
      Task t{wl, 0, {}, wl.Flops(), 0, 0};
      out.tasks.push_back(std::move(t));
    }
    Task& t = out.tasks[it->second];
    ++t.count;
    t.nodes.push_back(n.name);
    t.total_flops += t.flops;
    out.total_flops += t.flops;
  }
  for (Task& t : out.tasks) t.share = out.total_flops > 0 ? t.total_flops / out.total_flops : 0;
  std::stable_sort(out.tasks.begin(), out.tasks.end(), [](const Task& a, const Task& b) {
    if (a.total_flops != b.total_flops) return a.total_flops > b.total_flops;
    return a.workload.Key() < b.workload.Key();
  });
  return out;
}

Json TaskList::ToJson() const {
  Json j;
  j["format"] = "opal.tasks/1";
  j["total_flops"] = total_flops;
  j["other_flops_estimate"] = other_flops;
  j["tasks"] = Json::array();
  for (const Task& t : tasks) {
    j["tasks"].push_back({{"key", t.workload.Key()},
                          {"op", t.workload.op()},
                          {"summary", t.workload.Summary()},
                          {"workload", t.workload.json()},
                          {"count", t.count},
                          {"flops", t.flops},
                          {"total_flops", t.total_flops},
                          {"share", t.share},
                          {"nodes", t.nodes}});
  }
  j["unsupported_ops"] = unsupported_ops;
  j["other_ops"] = other_ops;
  j["skipped"] = Json::array();
  for (const auto& s : skipped) j["skipped"].push_back({{"node", s.node}, {"op", s.op_type}, {"reason", s.reason}});
  return j;
}

}  // namespace opal
