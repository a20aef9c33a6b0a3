#include "graph/conv_taps.h"

#include <string>
#include <vector>

namespace opal::graph {
namespace {

// The first and last tap of one spatial axis that read the input for some output position.
struct LiveTaps {
  int64_t first = -1, last = -1;
};

LiveTaps Live(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t dilation, int64_t pad_begin) {
  LiveTaps t;
  for (int64_t k = 0; k < kernel; ++k) {
    // Input positions o*stride - pad_begin + k*dilation for o in [0, out): an arithmetic range.
    const int64_t lo = -pad_begin + k * dilation, hi = lo + (out - 1) * stride;
    bool live = false;
    for (int64_t p = lo; p <= hi && !live; p += stride) live = p >= 0 && p < in;
    if (!live) continue;
    if (t.first < 0) t.first = k;
    t.last = k;
  }
  return t;
}

// Drops the dead taps of Conv `id` when it qualifies; returns whether it did.
bool Prune(Graph& g, NodeId id) {
  const Node& n = g.node(id);
  if (n.op_type != "Conv" || !(n.domain.empty() || n.domain == "ai.onnx")) return false;
  if (n.inputs.size() < 2 || n.inputs[0] == kNoValue || n.inputs[1] == kNoValue || n.outputs.empty()) return false;
  if (n.attrs.GetString("auto_pad", "NOTSET") != "NOTSET") return false;
  const Value& x = g.value(n.inputs[0]);
  const Value& w = g.value(n.inputs[1]);
  const Value& y = g.value(n.outputs[0]);
  if (!x.shape_known || !y.shape_known || !w.constant || w.constant->dtype() != DType::kFloat32) return false;
  const Shape& ws = w.constant->shape();
  const size_t sp = ws.size() >= 2 ? ws.size() - 2 : 0;
  if (sp == 0 || x.shape.size() != sp + 2 || y.shape.size() != sp + 2) return false;
  const std::vector<int64_t> strides = n.attrs.GetInts("strides", std::vector<int64_t>(sp, 1));
  std::vector<int64_t> dil = n.attrs.GetInts("dilations", std::vector<int64_t>(sp, 1));
  std::vector<int64_t> pads = n.attrs.GetInts("pads", std::vector<int64_t>(2 * sp, 0));
  if (strides.size() != sp || dil.size() != sp || pads.size() != 2 * sp) return false;
  std::vector<LiveTaps> live(sp);
  bool dead = false;
  for (size_t a = 0; a < sp; ++a) {
    live[a] = Live(x.shape[2 + a], y.shape[2 + a], ws[2 + a], strides[a], dil[a], pads[a]);
    if (live[a].first < 0) return false;  // no tap reads input: leave it (bias only)
    dead = dead || live[a].first > 0 || live[a].last < ws[2 + a] - 1;
  }
  if (!dead) return false;
  Shape nws = ws;
  std::vector<int64_t> npads = pads, ndil = dil;
  for (size_t a = 0; a < sp; ++a) {
    nws[2 + a] = live[a].last - live[a].first + 1;
    npads[a] = pads[a] - live[a].first * dil[a];
    npads[a + sp] = pads[a + sp] - (ws[2 + a] - 1 - live[a].last) * dil[a];
    if (npads[a] < 0 || npads[a + sp] < 0) return false;
    if (nws[2 + a] == 1) ndil[a] = 1;
    // The output length must not change: (in + pads - span) / stride + 1.
    const int64_t span = (nws[2 + a] - 1) * ndil[a] + 1;
    if ((x.shape[2 + a] + npads[a] + npads[a + sp] - span) / strides[a] + 1 != y.shape[2 + a]) return false;
  }
  // The weights of the live taps: every [k][c] block sliced to the live window.
  Tensor nw(DType::kFloat32, nws);
  const float* src = w.constant->data<float>();
  float* dst = nw.data<float>();
  std::vector<int64_t> pos(nws.size(), 0);
  std::vector<int64_t> stride_src(ws.size(), 1);
  for (size_t d = ws.size() - 1; d > 0; --d) stride_src[d - 1] = stride_src[d] * ws[d];
  for (int64_t e = 0; e < nw.size(); ++e) {
    int64_t off = 0;
    for (size_t d = 0; d < pos.size(); ++d) off += (pos[d] + (d >= 2 ? live[d - 2].first : 0)) * stride_src[d];
    dst[e] = src[off];
    for (size_t d = pos.size(); d > 0; --d) {
      if (++pos[d - 1] < nws[d - 1]) break;
      pos[d - 1] = 0;
    }
  }
  Value v;
  v.name = w.name + "_live_taps";
  for (int i = 1; g.FindValue(v.name); ++i) v.name = w.name + "_live_taps_" + std::to_string(i);
  v.dtype = DType::kFloat32;
  v.shape = nws;
  v.shape_known = true;
  v.is_initializer = true;
  v.constant = std::make_shared<const Tensor>(std::move(nw));
  const ValueId vid = g.AddValue(std::move(v));
  Node& m = g.mutable_node(id);
  m.inputs[1] = vid;
  auto ints = [](std::vector<int64_t> v) {
    Attribute at;
    at.kind = Attribute::Kind::kInts;
    at.ints = std::move(v);
    return at;
  };
  m.attrs.Set("kernel_shape", ints(std::vector<int64_t>(nws.begin() + 2, nws.end())));
  m.attrs.Set("pads", ints(npads));
  m.attrs.Set("dilations", ints(ndil));
  return true;
}

}  // namespace

int DropDeadConvTaps(Graph& g) {
  int changed = 0;
  for (NodeId id = 0; id < static_cast<NodeId>(g.num_nodes()); ++id) changed += Prune(g, id) ? 1 : 0;
  return changed;
}

}  // namespace opal::graph
