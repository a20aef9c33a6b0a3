// Profiles carried over from a reference model by measured per-layer ratios (plan_perf.h).
#include <algorithm>
#include <cmath>
#include <limits>

#include "opal/plan_perf.h"

namespace opal::plan {
namespace {

// The reference layer of the same kind: embedding, head, or the block at the same relative depth.
int ReferenceLayer(int layer, int layers, int ref_layers) {
  if (layer == 0) return 0;
  if (layer == layers - 1) return ref_layers - 1;
  const int blocks = layers - 2, ref_blocks = ref_layers - 2;
  if (blocks <= 0 || ref_blocks <= 0) return std::min(layer, ref_layers - 1);
  return 1 + static_cast<int>(
                 std::lround(1.0 * (layer - 1) * (ref_blocks - 1) / std::max(1, blocks - 1)));
}

double Distance(const GpuType& a, const GpuType& b, int dtype_bytes) {
  return std::fabs(std::log(a.MatmulPeak(dtype_bytes) / b.MatmulPeak(dtype_bytes))) +
         std::fabs(std::log(a.mem_bw / b.mem_bw));
}

double Ratio(double num, double den) { return den > 0 ? num / den : 0; }

// A layer's work per sample on `g` by the roofline at the GPU's peaks (no fitted efficiency, no
// overhead): matrix-product FLOP at the matrix peak plus the other operators' bytes at the memory
// bandwidth. Only its ratios are used.
double PeakWork(const LayerSpec& l, const GpuType& g, int dtype_bytes) {
  const double peak = g.MatmulPeak(dtype_bytes);
  return (peak > 0 ? l.matmul_flops / peak : 0) + (g.mem_bw > 0 ? l.other_bytes / g.mem_bw : 0);
}

}  // namespace

std::optional<LayerTime> ProfileTransferSource::Time(const ModelSpec& model, int layer,
                                                     const GpuType& gpu, int mbs, int tp) const {
  if (target_->NumLayers(gpu.name) > 0) return std::nullopt;  // measured for this model
  const int L = static_cast<int>(model.layers.size());
  const int ref_layer = ReferenceLayer(layer, L, static_cast<int>(reference_model_.layers.size()));
  auto here = reference_->Time(reference_model_, ref_layer, gpu, mbs, tp);
  if (!here) return std::nullopt;
  // The GPU measured on both models closest to this one.
  const GpuType* best = nullptr;
  std::optional<LayerTime> x, y;
  double best_d = std::numeric_limits<double>::infinity();
  for (const GpuType& h : gpus_) {
    if (h.name == gpu.name || h.mem_bw <= 0 || h.MatmulPeak(model.dtype_bytes) <= 0) continue;
    auto tx = target_->Time(model, layer, h, mbs, tp);
    auto ty = reference_->Time(reference_model_, ref_layer, h, mbs, tp);
    if (!tx || !ty) continue;
    const double d = Distance(gpu, h, model.dtype_bytes);
    if (d < best_d) best_d = d, best = &h, x = tx, y = ty;
  }
  if (!best) return std::nullopt;
  // X's layer does `work` times Y's on a GPU; how that ratio moves from h to g (the roofline at
  // peak: a GPU with more FLOP/s per byte makes the matrix products, whose share differs between
  // the models, cheaper) is the drift.
  const LayerSpec &lx = model.layers[layer], &ly = reference_model_.layers[ref_layer];
  auto work = [&](const GpuType& on) {
    return Ratio(PeakWork(lx, on, model.dtype_bytes),
                 PeakWork(ly, on, reference_model_.dtype_bytes));
  };
  const double drift = work(gpu) > 0 && work(*best) > 0 ? work(gpu) / work(*best) : 1;
  // X's layer on h takes as long as Y's at an equivalent micro-batch b_h; on g it takes what Y's
  // layer takes there at b_h x drift. g's own curve of Y carries its fixed cost per layer (launch
  // and latency bound at small sizes) and its efficiency rising with the work, which a plain
  // ratio of times would scale along with the work. Where X's time on h is not above Y's at
  // Y's smallest measured size, no size answers: the ratio of times, with the drift.
  // A time on h below the layer's work at h's peaks (matrix FLOP at the matrix peak, or its bytes
  // at the memory bandwidth, whichever is larger; the backward has twice the FLOP) cannot be a
  // measurement of that layer: X's profile holds less than the model's layer. It is not used; the
  // layer is Y's on g at micro-batch x the work ratio on g.
  const double peak_h = best->MatmulPeak(model.dtype_bytes);
  const double fwd_floor =
      std::max(lx.matmul_flops / peak_h, lx.other_bytes / best->mem_bw) * mbs / tp;
  const double bwd_floor = 2 * lx.matmul_flops / peak_h * mbs / tp;
  auto pass = [&](bool bwd) {
    const double xs = bwd ? x->bwd : x->fwd, ys = bwd ? y->bwd : y->fwd;
    const double hs = bwd ? here->bwd : here->fwd;
    std::optional<double> b;
    if (xs < (bwd ? bwd_floor : fwd_floor)) {
      if (work(gpu) > 0) b = mbs * work(gpu);
    } else if (auto bh = reference_->EquivalentBatch(best->name, ref_layer, tp, bwd, xs)) {
      b = *bh * drift;
    }
    if (b)
      if (auto at = reference_->TimeAt(gpu.name, ref_layer, *b, tp)) return bwd ? at->bwd : at->fwd;
    return hs * Ratio(xs, ys) * drift;
  };
  LayerTime t;
  t.fwd = pass(false);
  t.bwd = pass(true);
  // Profiles without optimizer figures (zeros) scale the step by the layers' parameters instead.
  t.update = y->update > 0 ? here->update * x->update / y->update
                           : here->update * Ratio(model.layers[layer].params,
                                                  reference_model_.layers[ref_layer].params);
  t.source = "profile-transfer";
  return t;
}

}  // namespace opal::plan
