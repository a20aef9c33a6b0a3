// Profiles carried over from a reference model by measured per-layer ratios (plan_perf.h).
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
  LayerTime t;
  t.fwd = here->fwd * Ratio(x->fwd, y->fwd);
  t.bwd = here->bwd * Ratio(x->bwd, y->bwd);
  // Profiles without optimizer figures (zeros) scale the step by the layers' parameters instead.
  t.update = y->update > 0 ? here->update * x->update / y->update
                           : here->update * Ratio(model.layers[layer].params,
                                                  reference_model_.layers[ref_layer].params);
  t.source = "profile-transfer";
  return t;
}

}  // namespace opal::plan
