#include "tune/reference_kernels.h"

#include <cmath>

#include "tune/contraction.h"

namespace opal::tune {
namespace {

double DenseElement(const Workload& w, const std::vector<const float*>& in, int64_t idx,
                    double* abs_sum) {
  const int64_t m = w.Get("m"), n = w.Get("n"), k = w.Get("k");
  const bool ta = w.json().at("trans_a").get<bool>(), tb = w.json().at("trans_b").get<bool>();
  const int64_t i = idx / n, j = idx % n;
  double s = 0, a = 0;
  for (int64_t p = 0; p < k; ++p) {
    double va = ta ? in[0][p * m + i] : in[0][i * k + p];
    double vb = tb ? in[1][j * k + p] : in[1][p * n + j];
    s += va * vb;
    a += std::fabs(va * vb);
  }
  *abs_sum = a;
  return s;
}

double BatchMatmulElement(const Workload& w, const std::vector<const float*>& in, int64_t idx,
                          double* abs_sum) {
  const int64_t m = w.Get("m"), n = w.Get("n"), k = w.Get("k");
  const bool shared_a = w.json().at("broadcast") == "a";
  const int64_t bt = idx / (m * n), i = (idx / n) % m, j = idx % n;
  const float* A = in[0] + (shared_a ? 0 : bt * m * k);
  const float* B = in[1] + bt * k * n;
  double s = 0, a = 0;
  for (int64_t p = 0; p < k; ++p) {
    double v = double(A[i * k + p]) * double(B[p * n + j]);
    s += v;
    a += std::fabs(v);
  }
  *abs_sum = a;
  return s;
}

double ConvElement(const Workload& w, const std::vector<const float*>& in, int64_t idx,
                   double* abs_sum) {
  const int64_t C = w.Get("c"), H = w.Get("h"), W = w.Get("w"), K = w.Get("k");
  const int64_t KH = w.Get("kh"), KW = w.Get("kw"), G = w.Get("groups");
  const int64_t OH = ConvOutH(w), OW = ConvOutW(w);
  const int64_t cg = C / G, kg = K / G;
  const int64_t img = idx / (K * OH * OW), oc = (idx / (OH * OW)) % K, oy = (idx / OW) % OH,
                ox = idx % OW;
  const int64_t g = oc / kg;
  const int64_t sh = w.Get("stride_h"), sw = w.Get("stride_w"), dh = w.Get("dilation_h"),
                dw = w.Get("dilation_w");
  const int64_t pt = w.Get("pad_top"), pl = w.Get("pad_left");
  double s = 0, a = 0;
  for (int64_t ic = 0; ic < cg; ++ic) {
    for (int64_t ky = 0; ky < KH; ++ky) {
      const int64_t iy = oy * sh + ky * dh - pt;
      if (iy < 0 || iy >= H) continue;
      for (int64_t kx = 0; kx < KW; ++kx) {
        const int64_t ix = ox * sw + kx * dw - pl;
        if (ix < 0 || ix >= W) continue;
        double x = in[0][((img * C + g * cg + ic) * H + iy) * W + ix];
        double f = in[1][((oc * cg + ic) * KH + ky) * KW + kx];
        s += x * f;
        a += std::fabs(x * f);
      }
    }
  }
  *abs_sum = a;
  return s;
}

}  // namespace

double ReferenceElement(const Workload& w, const std::vector<const float*>& inputs,
                        int64_t out_index, double* abs_sum) {
  if (w.op() == "dense") return DenseElement(w, inputs, out_index, abs_sum);
  if (w.op() == "batch_matmul") return BatchMatmulElement(w, inputs, out_index, abs_sum);
  return ConvElement(w, inputs, out_index, abs_sum);
}

void ReferenceKernel(const Workload& w, const std::vector<const float*>& inputs, float* out) {
  const int64_t n = NumElements(OperandsOf(w).output);
  double unused;
  for (int64_t i = 0; i < n; ++i)
    out[i] = static_cast<float>(ReferenceElement(w, inputs, i, &unused));
}

int64_t ReductionLength(const Workload& w) {
  if (w.op() == "conv2d") return (w.Get("c") / w.Get("groups")) * w.Get("kh") * w.Get("kw");
  return w.Get("k");
}

}  // namespace opal::tune
