// Roofline layer times with calibrated efficiencies, and the chain of sources.
#include <fmt/format.h>

#include "opal/plan_perf.h"
#include "plan/json_read.h"

namespace opal::plan {
namespace {

Result<Efficiency> EfficiencyFromJson(const Json& j, const std::string& where) {
  JsonReader r(j, where);
  Efficiency e;
  e.matmul = r.Positive("matmul");
  e.memory = r.Positive("memory");
  e.update = r.Positive("update");
  e.overhead = r.OptNum("overhead_s", 0);
  e.fitted_on = r.OptStr("fitted_on", "");
  OPAL_RETURN_IF_ERROR(r.status());
  if (e.matmul > 1 || e.memory > 1 || e.update > 1 || e.overhead < 0)
    return Error(ErrorCode::kInvalidModel, "{}: efficiencies must be in (0, 1] and overhead >= 0",
                 where);
  return e;
}

}  // namespace

Result<std::unique_ptr<RooflineSource>> RooflineSource::Load(const std::string& path) {
  OPAL_ASSIGN_OR_RETURN(Json j, ReadJsonFile(path, "efficiency"));
  if (!j.is_object() || !j.contains("default"))
    return Error(ErrorCode::kInvalidModel,
                 "{}: expected {{\"default\": {{...}}, \"gpus\": {{...}}}}", path);
  OPAL_ASSIGN_OR_RETURN(Efficiency dflt, EfficiencyFromJson(j["default"], path + ": default"));
  std::map<std::string, Efficiency> per;
  if (j.contains("gpus") && j["gpus"].is_object()) {
    for (const auto& [name, e] : j["gpus"].items()) {
      OPAL_ASSIGN_OR_RETURN(per[name], EfficiencyFromJson(e, path + ": " + name));
    }
  }
  return std::make_unique<RooflineSource>(std::move(per), std::move(dflt));
}

const Efficiency& RooflineSource::For(const std::string& gpu) const {
  auto it = per_gpu_.find(gpu);
  return it == per_gpu_.end() ? default_ : it->second;
}

std::optional<LayerTime> RooflineSource::Time(const ModelSpec& model, int layer, const GpuType& gpu,
                                              int mbs, int tp) const {
  if (layer < 0 || layer >= static_cast<int>(model.layers.size()) || mbs <= 0 || tp <= 0)
    return std::nullopt;
  const LayerSpec& l = model.layers[layer];
  const Efficiency& e = For(gpu.name);
  const double peak = gpu.MatmulPeak(model.dtype_bytes);
  const double m = mbs, t = tp;
  const double compute =
      l.matmul_flops * m / t / (peak * e.matmul) + l.other_bytes * m / t / (gpu.mem_bw * e.memory);
  double comm = 0;
  if (tp > 1 && l.tp_allreduces > 0) {
    // Ring all-reduce of the layer output among the tp GPUs of a node: 2 (t-1)/t of the bytes.
    double bytes = (l.out_bytes > 0 ? l.out_bytes : model.dtype_bytes * model.seq_len * 1.0) * m;
    comm = l.tp_allreduces * 2 * (t - 1) / t * gpu.IntraLink(tp).Seconds(bytes);
  }
  LayerTime r;
  r.fwd = compute + comm + e.overhead;
  r.bwd = 2 * compute + comm + e.overhead;
  r.update = 2 * model.state_bytes_per_param * l.params / t / (gpu.mem_bw * e.update);
  r.source = "roofline";
  return r;
}

std::optional<LayerTime> ChainSource::Time(const ModelSpec& model, int layer, const GpuType& gpu,
                                           int mbs, int tp) const {
  for (const auto& s : sources_)
    if (auto t = s->Time(model, layer, gpu, mbs, tp)) return t;
  return std::nullopt;
}

std::string ChainSource::Name() const {
  std::string s;
  for (const auto& x : sources_) s += (s.empty() ? "" : " > ") + x->Name();
  return s;
}

}  // namespace opal::plan
