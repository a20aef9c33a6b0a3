// GpuSpec and GpuOp: what the GPU operator model reads of a GPU and of an operator.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "opal/gpu_op_model.h"

namespace opal {

double GpuSpec::MatmulPeak(const std::string& dtype) const {
  if (dtype == "float32") return tf32_flops > 0 ? tf32_flops : fp32_flops;
  return compute_capability >= 70 && tensor_flops > 0 ? tensor_flops : fp32_flops;
}

const char* GpuOpPassName(GpuOpPass pass) {
  switch (pass) {
    case GpuOpPass::kGemm:
      return "gemm";
    case GpuOpPass::kConvForward:
      return "conv_fwd";
    case GpuOpPass::kConvBackwardData:
      return "conv_bwd_data";
    case GpuOpPass::kConvBackwardFilter:
      return "conv_bwd_filter";
  }
  return "?";
}

GpuOp GpuOp::Gemm(const std::string& dtype, int64_t m, int64_t n, int64_t k, bool trans_a,
                  bool trans_b, int64_t batch) {
  GpuOp op;
  op.dtype = dtype;
  op.m = m;
  op.n = n;
  op.k = k;
  op.trans_a = trans_a;
  op.trans_b = trans_b;
  op.batch = batch;
  return op;
}

Result<GpuOp> GpuOp::FromWorkload(const Workload& wl) {
  const Json& j = wl.json();
  const std::string dtype = j.value("dtype", "float32");
  if (dtype != "float32" && dtype != "float16" && dtype != "bfloat16")
    return Error(ErrorCode::kUnsupported, "GPU operator model: dtype {} is not modelled", dtype);
  if (wl.op() == "dense")
    return Gemm(dtype, wl.Get("m"), wl.Get("n"), wl.Get("k"), j["trans_a"].get<bool>(),
                j["trans_b"].get<bool>());
  if (wl.op() == "batch_matmul") {
    if (j["broadcast"] != "none")
      return Error(ErrorCode::kUnsupported, "GPU operator model: broadcast batch_matmul");
    return Gemm(dtype, wl.Get("m"), wl.Get("n"), wl.Get("k"), false, false, wl.Get("batch"));
  }
  if (wl.op() == "conv2d") {
    if (wl.Get("dilation_h") != 1 || wl.Get("dilation_w") != 1 || wl.Get("groups") != 1 ||
        wl.Get("pad_top") != wl.Get("pad_bottom") || wl.Get("pad_left") != wl.Get("pad_right"))
      return Error(ErrorCode::kUnsupported,
                   "GPU operator model: only dense convolutions with symmetric pads: {}",
                   wl.Summary());
    GpuOp op;
    op.pass = GpuOpPass::kConvForward;
    op.dtype = dtype;
    op.conv_n = wl.Get("n");
    op.c = wl.Get("c");
    op.h = wl.Get("h");
    op.w = wl.Get("w");
    op.conv_k = wl.Get("k");
    op.kh = wl.Get("kh");
    op.kw = wl.Get("kw");
    op.stride_h = wl.Get("stride_h");
    op.stride_w = wl.Get("stride_w");
    op.pad_h = wl.Get("pad_top");
    op.pad_w = wl.Get("pad_left");
    return op;
  }
  return Error(ErrorCode::kUnsupported, "GPU operator model: op {} is not modelled", wl.op());
}

std::array<double, 4> GpuOp::AsGemm() const {
  const double p = static_cast<double>(OutH()) * static_cast<double>(OutW());
  const double n_ = static_cast<double>(conv_n), c_ = static_cast<double>(c),
               k_ = static_cast<double>(conv_k), rs = static_cast<double>(kh * kw);
  switch (pass) {
    case GpuOpPass::kGemm:
      return {static_cast<double>(batch), static_cast<double>(m), static_cast<double>(n),
              static_cast<double>(k)};
    case GpuOpPass::kConvForward:  // output pixels x filters, reduced over c x kh x kw
      return {1, n_ * p, k_, c_ * rs};
    case GpuOpPass::kConvBackwardData:  // input pixels x channels, over the taps that reach them
      return {1, n_ * static_cast<double>(h * w), c_,
              k_ * std::ceil(static_cast<double>(kh) / static_cast<double>(stride_h)) *
                  std::ceil(static_cast<double>(kw) / static_cast<double>(stride_w))};
    case GpuOpPass::kConvBackwardFilter:  // filters x (c x kh x kw), over the output pixels
      return {1, k_, c_ * rs, n_ * p};
  }
  return {1, 0, 0, 0};
}

double GpuOp::Flops() const {
  if (pass == GpuOpPass::kGemm)
    return 2.0 * static_cast<double>(batch) * static_cast<double>(m) * static_cast<double>(n) *
           static_cast<double>(k);
  return 2.0 * static_cast<double>(conv_n) * static_cast<double>(conv_k) *
         static_cast<double>(OutH()) * static_cast<double>(OutW()) * static_cast<double>(c) *
         static_cast<double>(kh * kw);
}

double GpuOp::Bytes() const {
  const double es = DtypeBytes();
  if (pass == GpuOpPass::kGemm)
    return es * static_cast<double>(batch) * static_cast<double>(m * k + k * n + m * n);
  const double in = static_cast<double>(conv_n * c * h * w);
  const double wt = static_cast<double>(conv_k * c * kh * kw);
  const double out = static_cast<double>(conv_n * conv_k * OutH() * OutW());
  return es * (in + wt + out);
}

std::string GpuOp::Key() const {
  if (pass == GpuOpPass::kGemm)
    return fmt::format("gemm/{}/{}x{}x{}x{}/{}{}", dtype, batch, m, n, k, trans_a ? 'T' : 'N',
                       trans_b ? 'T' : 'N');
  return fmt::format("{}/{}/n{}c{}h{}w{}k{}r{}s{}/s{}x{}/p{}x{}", GpuOpPassName(pass), dtype,
                     conv_n, c, h, w, conv_k, kh, kw, stride_h, stride_w, pad_h, pad_w);
}

double RooflineSeconds(const GpuOp& op, const GpuSpec& g) {
  return std::max(op.Flops() / g.MatmulPeak(op.dtype), op.Bytes() / g.mem_bw);
}

}  // namespace opal
