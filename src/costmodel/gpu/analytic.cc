// The analytic time of an operator on a GPU and the fit of its parameters (analytic.h).
#include "costmodel/gpu/analytic.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "costmodel/gpu/nelder_mead.h"

namespace opal::costmodel {
namespace {

// Parameter slots.
enum : int {
  kT0,          // log of the fixed time per call, microseconds
  kAlpha,       // tile efficiency exponent
  kK0,          // log of the reduction length at which half the tile's time is its prologue
  kMemEff,      // logit of the reached share of memory bandwidth
  kComputeEff,  // logit of the reached share of the per-slot peak by a 128x128 tile
  kWinograd,    // log of the FLOP reduction of 3x3 stride-1 convolutions
  kSharpness,   // log of q in (compute^q + memory^q)^(1/q)
  kOccupancy,   // log of the tiles an SM holds at once
  kStride,      // log of the extra cost of strided backward-data passes
  kL2Miss,      // logit of the share of operand re-reads beyond L2 that reach memory
};

// Starting points of the fit: the default, a near-max combination of compute and memory, larger
// tiles' advantage with two tiles per SM, and a memory-bound start.
std::vector<GpuOpModel::Params> Starts() {
  std::vector<GpuOpModel::Params> v{kStartParams, kStartParams, kStartParams, kStartParams};
  v[1][kSharpness] = 2.5;
  v[2][kAlpha] = 0.6;
  v[2][kOccupancy] = 0.7;
  v[3][kMemEff] = 3.0;
  v[3][kComputeEff] = 1.0;
  v[3][kT0] = 2.5;
  return v;
}

constexpr std::array<std::array<int, 2>, 5> kTiles = {
    {{128, 128}, {128, 64}, {64, 64}, {64, 32}, {32, 32}}};

double Logistic(double x) { return 1.0 / (1.0 + std::exp(-x)); }

std::array<bool, GpuOpModel::kParams> FreeParams(GpuOpPass pass) {
  std::array<bool, GpuOpModel::kParams> f;
  f.fill(true);
  if (pass == GpuOpPass::kGemm) f[kWinograd] = false;
  if (pass != GpuOpPass::kConvBackwardData) f[kStride] = false;
  return f;
}

}  // namespace

const GpuOpModel::Params kStartParams = {1.6, 0.3, 3.47, 1.1, 2.0, 0.59, 1.0, 0.0, 0.4, 0.0};
const char* const kParamNames[GpuOpModel::kParams] = {
    "log_t0_us",    "tile_alpha", "log_k0",        "logit_mem_eff", "logit_compute_eff",
    "log_winograd", "log_q",      "log_occupancy", "log_stride",    "logit_l2_miss"};

double AnalyticTime(const GpuOpModel::Params& th, const GpuOp& op, const GpuSpec& g) {
  const auto [batch, m, n, k] = op.AsGemm();
  const double es = op.DtypeBytes();
  double flops_scale = 1;  // useful FLOP of the algorithm over the op's FLOP
  if (op.pass != GpuOpPass::kGemm && op.kh == 3 && op.kw == 3 && op.stride_h == 1 &&
      op.stride_w == 1)
    flops_scale = std::exp(-th[kWinograd]);
  if (op.pass == GpuOpPass::kConvBackwardData && op.stride_h * op.stride_w > 1)
    flops_scale *= std::exp(th[kStride]);
  const double slots = std::max(1.0, g.sms * std::exp(th[kOccupancy]));
  const double slot_peak = g.MatmulPeak(op.dtype) / slots;
  const double ec = Logistic(th[kComputeEff]), em = Logistic(th[kMemEff]);
  const double ek = k / (k + std::exp(th[kK0]));
  const double q = std::exp(th[kSharpness]);
  const double compulsory = op.Bytes();
  const double footprint = es * batch * k * (m + n);
  const double miss = Logistic(th[kL2Miss]) * std::max(0.0, 1.0 - g.l2_bytes / footprint);
  double best = 1e300;
  // A tile is never larger than the product: a 128-wide tile of a 3-wide product is 3 wide, with
  // the lower efficiency of its shape.
  for (const auto& [tile_m, tile_n] : kTiles) {
    const double tm = std::min<double>(tile_m, m), tn = std::min<double>(tile_n, n);
    const double tiles_m = std::ceil(m / tm), tiles_n = std::ceil(n / tn);
    const double tiles = batch * tiles_m * tiles_n;
    const double waves = std::ceil(tiles / slots);
    const double etile = std::pow((tm * tn / (tm + tn)) / 64.0, th[kAlpha]);
    const double tile_flops = 2.0 * tm * tn * k * flops_scale;
    const double compute = waves * tile_flops / (slot_peak * ec * etile * ek);
    const double rereads =
        es * batch * k * (m * std::max(0.0, tiles_n - 1) + n * std::max(0.0, tiles_m - 1));
    const double memory = (compulsory + rereads * miss) / (g.mem_bw * em);
    best = std::min(best, std::pow(std::pow(compute, q) + std::pow(memory, q), 1.0 / q));
  }
  return std::exp(th[kT0]) * 1e-6 + best;
}

namespace {

double MeanAbsLogError(const GpuOpModel::Params& th, const std::vector<const GpuOpSample*>& rows,
                       const std::map<std::string, GpuSpec>& gpus) {
  double sum = 0;
  for (const GpuOpSample* s : rows)
    sum += std::fabs(std::log(AnalyticTime(th, s->op, gpus.at(s->gpu)) / s->seconds));
  return rows.empty() ? 0 : sum / static_cast<double>(rows.size());
}

}  // namespace

// Per-pass parameters fitted on `rows`.
std::map<GpuOpPass, GpuOpModel::Params> FitParams(const std::vector<const GpuOpSample*>& rows,
                                                  const std::map<std::string, GpuSpec>& gpus) {
  std::map<GpuOpPass, std::vector<const GpuOpSample*>> by_pass;
  for (const GpuOpSample* s : rows) by_pass[s->op.pass].push_back(s);
  std::map<GpuOpPass, GpuOpModel::Params> out;
  for (const auto& [pass, pass_rows] : by_pass) {
    // A named reference: lambdas may not capture structured bindings before C++20's P1091
    // (clang 14, the fuzz build's compiler, rejects it).
    const std::vector<const GpuOpSample*>& pr = pass_rows;
    std::function<double(const GpuOpModel::Params&)> loss = [&](const GpuOpModel::Params& th) {
      return MeanAbsLogError(th, pr, gpus);
    };
    // Several starts (the loss is piecewise smooth: waves and tile choices jump), two restarts
    // from each optimum (Nelder-Mead's simplex collapses on flat directions); the best wins.
    GpuOpModel::Params best = kStartParams;
    double best_loss = loss(kStartParams);
    for (const auto& start : Starts()) {
      GpuOpModel::Params th = start;
      for (int round = 0; round < 3; ++round)
        th = costmodel::NelderMead<GpuOpModel::kParams>(loss, th, FreeParams(pass), 300);
      const double l = loss(th);
      if (l < best_loss) best_loss = l, best = th;
    }
    GpuOpModel::Params th = best;
    out[pass] = th;
  }
  return out;
}

}  // namespace opal::costmodel
