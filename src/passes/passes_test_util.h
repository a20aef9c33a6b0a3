// Test helpers for the passes: a naive reference evaluator for the ops the pass tests build
// (written independently of opal's kernels and import-time folding), random tensors, and a
// structural check of a graph after a pass. Header-only; for tests only.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <set>
#include <string>

#include "graph/graph_test_util.h"
#include "graph/ops/op_util.h"
#include "opal/graph.h"

namespace opal::passes::testing {

// Uniform [-1, 1) float32 values, reproducible from `seed`.
inline Tensor Random(Shape s, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  Tensor t(DType::kFloat32, std::move(s));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  for (int64_t i = 0; i < t.size(); ++i) t.data<float>()[i] = d(rng);
  return t;
}

// Largest |a-b| / max(|b|, 1e-2 * max|b|) over the elements (shapes must match): relative
// error, with values near zero compared to the tensor's scale (float32 cancellation).
inline double MaxRelDiff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(ShapeToString(a.shape()), ShapeToString(b.shape()));
  double scale = 1e-30;
  for (int64_t i = 0; i < b.size(); ++i) scale = std::max(scale, std::fabs(b.GetDouble(i)));
  double worst = 0;
  for (int64_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    double x = a.GetDouble(i), y = b.GetDouble(i);
    worst = std::max(worst, std::fabs(x - y) / std::max(1e-2 * scale, std::fabs(y)));
  }
  return worst;
}

namespace detail {

inline Tensor Conv(const Node& n, const Tensor& x, const Tensor& w, const Tensor* b) {
  const auto& xs = x.shape();
  const auto& ws = w.shape();
  const int64_t N = xs[0], C = xs[1], H = xs[2], W = xs[3], K = ws[0], KH = ws[2], KW = ws[3];
  const int64_t group = n.attrs.GetInt("group", 1), cg = C / group, kg = K / group;
  auto strides = n.attrs.GetInts("strides", {1, 1});
  auto dil = n.attrs.GetInts("dilations", {1, 1});
  auto pads = n.attrs.GetInts("pads", {0, 0, 0, 0});
  const int64_t OH = (H + pads[0] + pads[2] - dil[0] * (KH - 1) - 1) / strides[0] + 1;
  const int64_t OW = (W + pads[1] + pads[3] - dil[1] * (KW - 1) - 1) / strides[1] + 1;
  Tensor y(DType::kFloat32, {N, K, OH, OW});
  const float* xd = x.data<float>();
  const float* wd = w.data<float>();
  for (int64_t nn = 0; nn < N; ++nn)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          double acc = b ? b->data<float>()[k] : 0.0;
          const int64_t g0 = (k / kg) * cg;
          for (int64_t c = 0; c < cg; ++c)
            for (int64_t i = 0; i < KH; ++i)
              for (int64_t j = 0; j < KW; ++j) {
                int64_t h = oh * strides[0] - pads[0] + i * dil[0];
                int64_t ww = ow * strides[1] - pads[1] + j * dil[1];
                if (h < 0 || h >= H || ww < 0 || ww >= W) continue;
                acc += double(xd[((nn * C + g0 + c) * H + h) * W + ww]) *
                       wd[((k * cg + c) * KH + i) * KW + j];
              }
          y.data<float>()[((nn * K + k) * OH + oh) * OW + ow] = float(acc);
        }
  return y;
}

// A [.., M, K] x B [K, N] or [.., K, N] with equal leading dims (no other broadcasting).
inline Tensor MatMul(const Tensor& a, const Tensor& b, const Shape& out_shape) {
  const int64_t M = a.shape()[a.shape().size() - 2], K = a.shape().back(), N = b.shape().back();
  const int64_t batch = a.size() / (M * K);
  const bool b_batched = b.shape().size() > 2;
  Tensor y(DType::kFloat32, out_shape);
  for (int64_t p = 0; p < batch; ++p)
    for (int64_t m = 0; m < M; ++m)
      for (int64_t nn = 0; nn < N; ++nn) {
        double acc = 0;
        for (int64_t k = 0; k < K; ++k) {
          acc += double(a.data<float>()[(p * M + m) * K + k]) *
                 b.data<float>()[((b_batched ? p : 0) * K + k) * N + nn];
        }
        y.data<float>()[(p * M + m) * N + nn] = float(acc);
      }
  return y;
}

inline Tensor Gemm(const Node& n, const Tensor& a, const Tensor& b, const Tensor* c) {
  const bool ta = n.attrs.GetInt("transA", 0), tb = n.attrs.GetInt("transB", 0);
  const double alpha = n.attrs.GetFloat("alpha", 1.0), beta = n.attrs.GetFloat("beta", 1.0);
  const int64_t M = ta ? a.shape()[1] : a.shape()[0], K = ta ? a.shape()[0] : a.shape()[1];
  const int64_t N = tb ? b.shape()[0] : b.shape()[1];
  Tensor y(DType::kFloat32, {M, N});
  std::vector<int64_t> co;
  if (c) co = graph::BroadcastOffsets(c->shape(), {M, N});
  for (int64_t m = 0; m < M; ++m)
    for (int64_t nn = 0; nn < N; ++nn) {
      double acc = 0;
      for (int64_t k = 0; k < K; ++k) {
        acc += double(a.data<float>()[ta ? k * M + m : m * K + k]) *
               b.data<float>()[tb ? nn * K + k : k * N + nn];
      }
      acc *= alpha;
      if (c) acc += beta * c->data<float>()[co[m * N + nn]];
      y.data<float>()[m * N + nn] = float(acc);
    }
  return y;
}

// y = y (op) t, t broadcast to y.
inline void Combine(Tensor& y, const Tensor& t, bool add) {
  auto off = graph::BroadcastOffsets(t.shape(), y.shape());
  for (int64_t i = 0; i < y.size(); ++i) {
    float v = t.data<float>()[off[i]];
    y.data<float>()[i] = add ? y.data<float>()[i] + v : y.data<float>()[i] * v;
  }
}

inline void Clamp(Tensor& y, double lo, double hi) {
  for (int64_t i = 0; i < y.size(); ++i) {
    y.data<float>()[i] = float(std::fmin(std::fmax(double(y.data<float>()[i]), lo), hi));
  }
}

}  // namespace detail

// Evaluates every node of `g` in order with the reference above; returns the graph outputs by
// name. Supports Conv (2-D, explicit pads), Gemm, MatMul, Add, Mul (second operand broadcast to
// the first's shape), Relu, Clip, BatchNormalization, Identity and Dropout.
inline std::map<std::string, Tensor> EvalGraph(const Graph& g,
                                               const std::map<std::string, Tensor>& inputs) {
  std::map<ValueId, Tensor> env;
  auto get = [&](ValueId id) -> const Tensor& {
    const Value& v = g.value(id);
    if (v.constant) return *v.constant;
    auto it = env.find(id);
    if (it != env.end()) return it->second;
    auto in = inputs.find(v.name);
    OPAL_CHECK(in != inputs.end(), "no value for '{}'", v.name);
    return in->second;
  };
  auto opt = [&](const Node& n, size_t i) -> const Tensor* {
    return i < n.inputs.size() && n.inputs[i] != kNoValue ? &get(n.inputs[i]) : nullptr;
  };
  for (const Node& n : g.nodes()) {
    const std::string& op = n.op_type;
    Tensor y;
    if (op == "Conv") {
      y = detail::Conv(n, get(n.inputs[0]), get(n.inputs[1]), opt(n, 2));
    } else if (op == "MatMul") {
      y = detail::MatMul(get(n.inputs[0]), get(n.inputs[1]), g.value(n.outputs[0]).shape);
    } else if (op == "Gemm") {
      y = detail::Gemm(n, get(n.inputs[0]), get(n.inputs[1]), opt(n, 2));
    } else if (op == "Add" || op == "Mul") {
      const Tensor& a = get(n.inputs[0]);
      const Tensor& b = get(n.inputs[1]);
      const bool a_big = a.size() >= b.size();
      y = a_big ? a : b;
      detail::Combine(y, a_big ? b : a, op == "Add");
    } else if (op == "Relu") {
      y = get(n.inputs[0]);
      detail::Clamp(y, 0, INFINITY);
    } else if (op == "Clip") {
      y = get(n.inputs[0]);
      detail::Clamp(y, opt(n, 1) ? opt(n, 1)->GetDouble(0) : -INFINITY,
                    opt(n, 2) ? opt(n, 2)->GetDouble(0) : INFINITY);
    } else if (op == "Identity" || op == "Dropout") {
      y = get(n.inputs[0]);
    } else if (op == "BatchNormalization") {
      y = get(n.inputs[0]);
      const int64_t C = y.shape()[1], inner = y.size() / (y.shape()[0] * C);
      const double eps = n.attrs.GetFloat("epsilon", 1e-5);
      for (int64_t i = 0; i < y.size(); ++i) {
        const int64_t c = (i / inner) % C;
        double v = (y.data<float>()[i] - get(n.inputs[3]).GetDouble(c)) /
                   std::sqrt(get(n.inputs[4]).GetDouble(c) + eps);
        y.data<float>()[i] =
            float(v * get(n.inputs[1]).GetDouble(c) + get(n.inputs[2]).GetDouble(c));
      }
    } else {
      ADD_FAILURE() << "EvalGraph: no reference for " << op;
      return {};
    }
    env[n.outputs[0]] = std::move(y);
  }
  std::map<std::string, Tensor> out;
  for (ValueId o : g.outputs()) out[g.value(o).name] = get(o);
  return out;
}

// Checks what every pass promises: nodes come after the producers of their inputs, every
// value a node writes records that node as producer, and names are unique.
inline void ExpectWellFormed(const Graph& g) {
  std::set<ValueId> ready;
  for (ValueId v = 0; v < static_cast<ValueId>(g.num_values()); ++v) {
    if (g.value(v).producer < 0) ready.insert(v);
  }
  std::set<std::string> names;
  for (const Value& v : g.values()) {
    EXPECT_TRUE(names.insert(v.name).second) << "duplicate value name " << v.name;
  }
  for (size_t i = 0; i < g.num_nodes(); ++i) {
    const Node& n = g.node(static_cast<NodeId>(i));
    for (ValueId in : n.inputs) {
      if (in != kNoValue) {
        EXPECT_TRUE(ready.count(in)) << n.Describe() << " reads a later value";
      }
    }
    for (ValueId o : n.outputs) {
      if (o == kNoValue) continue;
      EXPECT_EQ(g.value(o).producer, static_cast<NodeId>(i)) << n.Describe();
      ready.insert(o);
    }
  }
}

// Number of nodes of this op type.
inline int CountOps(const Graph& g, const std::string& op) {
  int k = 0;
  for (const Node& n : g.nodes()) k += n.op_type == op;
  return k;
}

// The node that writes the value named `name` (nullptr if none).
inline const Node* ProducerOf(const Graph& g, const std::string& name) {
  auto id = g.FindValue(name);
  if (!id || g.value(*id).producer < 0) return nullptr;
  return &g.node(g.value(*id).producer);
}

}  // namespace opal::passes::testing
