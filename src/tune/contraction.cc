#include "tune/contraction.h"

#include <algorithm>

#include "tune/contraction_space.h"

#include "opal/status.h"

namespace opal::tune {

int64_t ConvOutH(const Workload& w) {
  return (w.Get("h") + w.Get("pad_top") + w.Get("pad_bottom") -
          (w.Get("kh") - 1) * w.Get("dilation_h") - 1) /
             w.Get("stride_h") +
         1;
}

int64_t ConvOutW(const Workload& w) {
  return (w.Get("w") + w.Get("pad_left") + w.Get("pad_right") -
          (w.Get("kw") - 1) * w.Get("dilation_w") - 1) /
             w.Get("stride_w") +
         1;
}

ConvGrid ConvGridOf(const Workload& w) {
  const int64_t sw = w.Get("stride_w");
  return {(w.Get("w") + w.Get("pad_left") + w.Get("pad_right") + sw - 1) / sw, ConvOutH(w), ConvOutW(w)};
}

int64_t ChanGridRows(const Workload& w, int64_t tile_pixels) {
  const ConvGrid g = ConvGridOf(w);
  int64_t rows = 1;
  for (int64_t d = 1; d <= g.oh; ++d)
    if (g.oh % d == 0 && d * g.ow <= tile_pixels) rows = d;
  return rows;
}

bool SupportedWorkload(const Workload& w) {
  if (w.json().value("dtype", "") != "float32") return false;
  if (w.op() == "conv2d") return w.json().value("layout", "") == "NCHW";
  return w.op() == "dense" || w.op() == "batch_matmul";
}

bool IsDepthwiseConv(const Workload& w) {
  return w.op() == "conv2d" && w.Get("groups") > 1 && w.Get("groups") == w.Get("c") && w.Get("k") == w.Get("c");
}

Contraction ContractionOf(const Workload& w) {
  Contraction c;
  if (w.op() == "dense") {
    c.nx = w.Get("n");
    c.ny = w.Get("m");
    c.nb = 1;
    c.nr = w.Get("k");
    c.b_direct = !w.json().at("trans_b").get<bool>();
    c.a_r_contiguous = !w.json().at("trans_a").get<bool>();
  } else if (w.op() == "batch_matmul") {
    c.nx = w.Get("n");
    c.ny = w.Get("m");
    c.nb = w.Get("batch");
    c.nr = w.Get("k");
    c.b_direct = true;
    c.a_r_contiguous = true;
  } else {
    int64_t g = w.Get("groups");
    c.nx = ConvOutH(w) * ConvOutW(w);
    c.ny = w.Get("k") / g;
    c.nb = w.Get("n") * g;
    c.nr = (w.Get("c") / g) * w.Get("kh") * w.Get("kw");
    c.b_direct = w.Get("kh") == 1 && w.Get("kw") == 1 && w.Get("stride_h") == 1 &&
                 w.Get("stride_w") == 1 && w.Get("pad_top") == 0 && w.Get("pad_left") == 0 &&
                 w.Get("pad_bottom") == 0 && w.Get("pad_right") == 0;
    c.a_r_contiguous = true;
  }
  return c;
}

Contraction ChanContractionOf(const Workload& w) {
  const Contraction c = ContractionOf(w);
  Contraction t;
  t.nx = c.ny;
  t.ny = c.nx;
  t.nb = c.nb;
  t.nr = c.nr;
  t.b_direct = true;  // the packed weights, x contiguous
  t.a_r_contiguous = false;
  return t;
}

void PackChanWeights(const Workload& w, int64_t panel, const float* onnx, float* packed) {
  const int64_t g = w.Get("groups"), kg = w.Get("k") / g;
  const int64_t nr = (w.Get("c") / g) * w.Get("kh") * w.Get("kw");
  OPAL_CHECK(panel > 0 && kg % panel == 0, "weight panel {} does not divide {} channels", panel, kg);
  for (int64_t gi = 0; gi < g; ++gi)
    for (int64_t p = 0; p < kg / panel; ++p)
      for (int64_t r = 0; r < nr; ++r)
        for (int64_t l = 0; l < panel; ++l)
          packed[((gi * (kg / panel) + p) * nr + r) * panel + l] = onnx[(gi * kg + p * panel + l) * nr + r];
}

std::vector<int64_t> PackedWeightsShape(const Workload& w, const ContractionKnobs& k) {
  if (UsesChan(w, k)) {
    const OperandShapes s = OperandsOf(w);
    return s.inputs[1];
  }
  if (w.op() == "dense" && k.pack_b == 3) {
    const int64_t rx = int64_t(k.vec) * k.rx, n = w.Get("n");
    return {(n + rx - 1) / rx, w.Get("k"), rx};
  }
  if (PacksConvWeightsAhead(w, k)) {
    const Contraction c = ContractionOf(w);
    const int64_t ry = k.ry, np = (c.ny + ry - 1) / ry;
    return {w.Get("groups") * np, c.nr, ry};
  }
  return {};
}

PhaseSpan PhaseSpanOf(int extent, int pad, int phase, int stride, int n) {
  auto floor_div = [stride](int a) { return a >= 0 ? a / stride : -((-a + stride - 1) / stride); };
  PhaseSpan s;
  s.first = (std::max(0, pad - phase) + stride - 1) / stride;
  s.last = std::min(n - 1, floor_div(extent - 1 + pad - phase));
  return s;
}

namespace {

// Conv weights [groups*kg][nr] (ONNX, row-major) as panels [groups*np][nr][ry]; channels past kg zero.
void PackConvWeightPanels(const Workload& w, const std::vector<int64_t>& shape, const float* src, float* dst) {
  const int64_t g = w.Get("groups"), kg = w.Get("k") / g, np = shape[0] / g, nr = shape[1], ry = shape[2];
  for (int64_t gi = 0; gi < g; ++gi)
    for (int64_t p = 0; p < np; ++p)
      for (int64_t r = 0; r < nr; ++r)
        for (int64_t l = 0; l < ry; ++l) {
          const int64_t ch = p * ry + l;
          dst[((gi * np + p) * nr + r) * ry + l] = ch < kg ? src[(gi * kg + ch) * nr + r] : 0.f;
        }
}

}  // namespace

void PackWeights(const Workload& w, const ContractionKnobs& k, const float* src, float* dst) {
  if (UsesChan(w, k)) {
    PackChanWeights(w, ChanWeightPanel(w, k), src, dst);
    return;
  }
  const std::vector<int64_t> s = PackedWeightsShape(w, k);
  OPAL_CHECK(s.size() == 3, "{} with this config reads its weights as given", w.Summary());
  if (PacksConvWeightsAhead(w, k)) {
    PackConvWeightPanels(w, s, src, dst);
    return;
  }
  const int64_t np = s[0], kk = s[1], rx = s[2], n = w.Get("n");
  const bool tb = w.json().at("trans_b").get<bool>();  // B is [n][k] instead of [k][n]
  for (int64_t p = 0; p < np; ++p)
    for (int64_t r = 0; r < kk; ++r)
      for (int64_t l = 0; l < rx; ++l) {
        const int64_t col = p * rx + l;
        dst[(p * kk + r) * rx + l] = col < n ? (tb ? src[col * kk + r] : src[r * n + col]) : 0.f;
      }
}

OperandShapes OperandsOf(const Workload& w) {
  OperandShapes s;
  if (w.op() == "dense") {
    int64_t m = w.Get("m"), n = w.Get("n"), k = w.Get("k");
    bool ta = w.json().at("trans_a").get<bool>(), tb = w.json().at("trans_b").get<bool>();
    s.inputs = {ta ? std::vector<int64_t>{k, m} : std::vector<int64_t>{m, k},
                tb ? std::vector<int64_t>{n, k} : std::vector<int64_t>{k, n}};
    s.output = {m, n};
  } else if (w.op() == "batch_matmul") {
    int64_t bt = w.Get("batch"), m = w.Get("m"), n = w.Get("n"), k = w.Get("k");
    s.inputs = {{w.json().at("broadcast") == "a" ? 1 : bt, m, k}, {bt, k, n}};
    s.output = {bt, m, n};
  } else {
    int64_t g = w.Get("groups");
    s.inputs = {{w.Get("n"), w.Get("c"), w.Get("h"), w.Get("w")},
                {w.Get("k"), w.Get("c") / g, w.Get("kh"), w.Get("kw")}};
    s.output = {w.Get("n"), w.Get("k"), ConvOutH(w), ConvOutW(w)};
  }
  return s;
}

int64_t NumElements(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

}  // namespace opal::tune
