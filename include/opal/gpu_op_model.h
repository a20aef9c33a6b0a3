// GpuOpModel: how long a matrix product or a convolution pass takes on a GPU, learned across GPU
// types from what describes a GPU (matrix-product peak per precision, memory bandwidth, SMs, L2)
// so that it predicts operator times on a GPU it has no measurements of.
//
// The model is analytic with fitted global parameters (one set per pass kind, shared by every
// GPU): a pass is an implicit GEMM (batch x m x n x k); a library runs it in output tiles of
// 128x128 .. 32x32, each of the GPU's SMs holding `occupancy` tiles at once, and takes the tile
// that finishes first:
//   compute = waves(tiles, SMs x occupancy) x tile FLOP / (per-slot peak x e_c x e_tile x e_k)
//   memory  = traffic / (bandwidth x e_m), traffic = the compulsory bytes plus the operand
//             re-reads of that tiling that do not fit in L2
//   time    = t0 + (compute^q + memory^q)^(1/q)
// with e_tile growing with the tile's FLOP per loaded element (exponent alpha), e_k = k/(k+k0),
// 3x3 stride-1 convolutions cheaper by a fitted Winograd factor, strided backward-data passes
// dearer by a fitted factor. Parameters are fitted by Nelder-Mead on the mean |log error|.
//
// Prediction for a GPU g: the analytic time, corrected, when the same operator was measured on
// other GPUs, by how those measurements departed from the analytic times there (the operator's
// own character: a library's algorithm choice, a shape its kernels handle badly):
//   log t(g) = log analytic(g) + blend x sum_h w_h clamp(log t(h) / analytic(h), +-cap) / sum w_h
// with w_h = exp(-distance(g, h) / scale): GPUs alike in peak, bandwidth, SMs, L2 and architecture
// generation count more. The other candidate scales the op's times elsewhere by the ratio of
// matrix-product peaks: log t(g) = log peak time(g) + sum_h w_h log(t(h) / peak time(h)) / sum w_h.
// The candidate, blend, cap and scale are chosen per pass and element size by leave-one-GPU-out
// among the training GPUs (the setting that predicts each training GPU best from the others).
//
// Plain values; Fit is deterministic; a fitted model is immutable and safe to share.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "opal/json.h"
#include "opal/status.h"
#include "opal/workload.h"

namespace opal {

// What the model knows of a GPU type.
struct GpuSpec {
  std::string name;
  int compute_capability = 0;  // 70 for sm_70
  int sms = 0;
  double fp32_flops = 0;  // FLOP/s
  double tensor_flops =
      0;                  // dense fp16 tensor-core peak, FLOP/s (used from compute capability 7.0)
  double tf32_flops = 0;  // dense TF32 tensor-core peak, FLOP/s; 0: none
  double mem_bw = 0;      // bytes/s
  double l2_bytes = 0;
  // Peak of matrix products in `dtype` as training libraries run them: float16/bfloat16 on tensor
  // cores from compute capability 7.0, else at the fp32 rate (fp16 storage with fp32 arithmetic:
  // DeepBench's P100 fp16 times equal its fp32 times); float32 on TF32 tensor cores where the GPU
  // has them, else on the fp32 units.
  double MatmulPeak(const std::string& dtype) const;
};

enum class GpuOpPass { kGemm, kConvForward, kConvBackwardData, kConvBackwardFilter };
inline constexpr int kGpuOpPasses = 4;
const char* GpuOpPassName(
    GpuOpPass pass);  // "gemm", "conv_fwd", "conv_bwd_data", "conv_bwd_filter"

// One operator execution.
struct GpuOp {
  GpuOpPass pass = GpuOpPass::kGemm;
  std::string dtype = "float32";  // float32 | float16 | bfloat16
  // kGemm: C[batch][m, n] = op(A)[m, k] * op(B)[k, n].
  int64_t batch = 1, m = 0, n = 0, k = 0;
  bool trans_a = false, trans_b = false;
  // Convolution passes: NCHW input n x c x h x w, k filters of kh x kw, stride, symmetric pads.
  int64_t conv_n = 0, c = 0, h = 0, w = 0, conv_k = 0, kh = 0, kw = 0;
  int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;

  static GpuOp Gemm(const std::string& dtype, int64_t m, int64_t n, int64_t k, bool trans_a = false,
                    bool trans_b = false, int64_t batch = 1);
  // The op a workload computes: dense, batch_matmul (broadcast "none") and conv2d (dilation 1,
  // one group, symmetric pads) as its forward pass. kUnsupported otherwise.
  static Result<GpuOp> FromWorkload(const Workload& w);

  int DtypeBytes() const { return dtype == "float32" ? 4 : 2; }
  int64_t OutH() const { return (h + 2 * pad_h - kh) / stride_h + 1; }
  int64_t OutW() const { return (w + 2 * pad_w - kw) / stride_w + 1; }
  double Flops() const;  // 2 per multiply-accumulate (a convolution pass: its forward's count)
  double Bytes() const;  // every input and the output once
  // The product the pass computes, as (batch, m, n, k).
  std::array<double, 4> AsGemm() const;
  // Identity of the computation (pass, dtype, sizes): equal on every GPU that ran it.
  std::string Key() const;
};

// Roofline seconds of `op` on `g`: max(FLOPs / matrix-product peak in op's dtype, every input and
// the output once / memory bandwidth). No kernel beats it; a measured time over it is the op's
// efficiency on that GPU.
double RooflineSeconds(const GpuOp& op, const GpuSpec& g);

struct GpuOpSample {
  GpuOp op;
  std::string gpu;  // GpuSpec::name
  double seconds = 0;
};

class GpuOpModel {
 public:
  static constexpr int kParams = 10;
  using Params = std::array<double, kParams>;
  // How the measurements of the same operator on other GPUs correct the analytic time.
  struct Transfer {
    double blend = 0.5;           // 0: analytic alone, 1: the full correction
    double cap = 0.7;             // |log| bound of one GPU's correction
    double distance_scale = 1.0;  // weight exp(-distance / scale); 0: equal weights
    // Instead of correcting the analytic time: the op's times on the other GPUs scaled by the
    // ratio of matrix-product peaks (weighted geometric mean; blend and cap unused).
    bool peak_ratio = false;
  };

  // Fits every pass that has samples. `gpus` must describe every GPU named by a sample
  // (kInvalidArgument otherwise); kInvalidArgument when there are no samples.
  static Result<GpuOpModel> Fit(const std::vector<GpuOpSample>& samples,
                                const std::map<std::string, GpuSpec>& gpus);

  // Seconds of `op` on `gpu`, blending the analytic time with the op's measurements on other GPUs
  // (the training samples; `gpu`'s own samples are never used). A pass the model has no
  // parameters for is timed with the gemm parameters.
  double Predict(const GpuOp& op, const GpuSpec& gpu) const;
  // The analytic time alone.
  double Analytic(const GpuOp& op, const GpuSpec& gpu) const;
  // Parameters and transfer settings (per element size: "float32", "float16") per pass, and the
  // training rows per GPU.
  Json ToJson() const;
  // A model from ToJson's parameters and transfer settings. It keeps no measurements, so
  // Predict is the analytic time. kInvalidArgument for an unknown pass or a missing parameter.
  static Result<GpuOpModel> FromJson(const Json& j);

 private:
  const Params& ParamsFor(GpuOpPass pass) const;
  Transfer TransferFor(GpuOpPass pass, int dtype_bytes) const;
  std::map<GpuOpPass, Params> params_;
  std::map<std::pair<GpuOpPass, int>, Transfer> transfer_;  // by pass and element size
  std::map<std::string, GpuSpec> gpus_;
  // op key -> (gpu, seconds) of the training samples
  std::map<std::string, std::vector<std::pair<std::string, double>>> measured_;
  std::map<std::string, int64_t> rows_per_gpu_;
};

// Leave-one-GPU-out: for every GPU with samples, a model fitted on the other GPUs' samples
// predicts it. One row per (GPU, dtype, pass) with the mean absolute percentage error.
struct GpuOpError {
  std::string gpu, dtype;
  GpuOpPass pass = GpuOpPass::kGemm;
  int64_t samples = 0;
  double mape = 0;  // percent
};
Result<std::vector<GpuOpError>> LeaveOneGpuOut(const std::vector<GpuOpSample>& samples,
                                               const std::map<std::string, GpuSpec>& gpus);

}  // namespace opal
