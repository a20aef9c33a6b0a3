// Layer times from op-level tuning records in the store (StoreSource), the GPU -> target map, and
// the cost model's place in the chain (CostModelSource).
#include <fmt/format.h>

#include <algorithm>

#include "opal/log.h"
#include "opal/plan_gpu_ops.h"
#include "opal/plan_perf.h"
#include "opal/workload.h"
#include "plan/json_read.h"
#include "plan/layer_gemms.h"

namespace opal::plan {

Result<std::map<std::string, Target>> LoadGpuTargets(const std::string& path) {
  OPAL_ASSIGN_OR_RETURN(Json j, ReadJsonFile(path, "GPU targets"));
  if (!j.is_object() || !j.contains("targets") || !j["targets"].is_object())
    return Error(ErrorCode::kInvalidModel,
                 "{}: expected {{\"targets\": {{\"GPU\": \"cuda arch=sm_80 ...\"}}}}", path);
  std::map<std::string, Target> out;
  for (const auto& [gpu, text] : j["targets"].items()) {
    if (!text.is_string())
      return Error(ErrorCode::kInvalidModel, "{}: target of '{}' must be a string", path, gpu);
    auto t = Target::Parse(text.get<std::string>());
    if (!t.ok())
      return Error(ErrorCode::kInvalidModel, "{}: target of '{}': {}", path, gpu,
                   t.status().message());
    out.emplace(gpu, *t);
  }
  return out;
}

StoreSource::StoreSource(std::unique_ptr<RecordStore> store, TransformerConfig shape,
                         std::map<std::string, Target> targets,
                         std::shared_ptr<const RooflineSource> roofline, StoreSourceOptions options)
    : store_(std::move(store)),
      shape_(std::move(shape)),
      targets_(std::move(targets)),
      roofline_(std::move(roofline)),
      options_(options) {}

std::optional<StoreSource::Best> StoreSource::Lookup(const Json& workload,
                                                     const std::vector<std::string>& dtypes,
                                                     const Target& target) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& dtype : dtypes) {
    auto w = Workload::FromJson(WithDtype(workload, dtype));
    if (!w.ok()) continue;  // a shape the workload format rejects (e.g. over 2^31)
    const std::string cache_key = w->Key() + "@" + target.ExactKey();
    auto it = cache_.find(cache_key);
    if (it == cache_.end()) {
      TopKQuery q;
      q.workload_key = w->Key();
      q.target_key = target.ExactKey();
      q.target_coarse_key = target.CoarseKey();
      q.coarse_fallback = options_.coarse_fallback;
      q.k = 1;
      std::optional<Best> best;
      auto recs = store_->TopK(q);
      if (!recs.ok())
        log::Warn("store {}: {}", store_->Describe(), recs.status().message());
      else if (!recs->empty() && recs->front().median_s > 0)
        best = Best{recs->front().median_s, w->Key(), recs->front().target_key};
      it = cache_.emplace(cache_key, best).first;
    }
    if (it->second) return it->second;
  }
  return std::nullopt;
}

std::optional<double> StoreSource::Predict(const Json& workload, const std::string& dtype,
                                           const GpuType& gpu) const {
  if (!options_.op_model) return std::nullopt;
  auto w = Workload::FromJson(WithDtype(workload, dtype));
  if (!w.ok()) return std::nullopt;
  auto op = GpuOp::FromWorkload(*w);
  if (!op.ok()) return std::nullopt;
  return options_.op_model->Predict(*op, GpuSpecOf(gpu));
}

StoreSource::Breakdown StoreSource::Explain(const ModelSpec& model, int layer, const GpuType& gpu,
                                            int mbs, int tp) const {
  Breakdown b;
  auto target = targets_.find(gpu.name);
  if (target == targets_.end() && !options_.op_model) {
    b.missing = fmt::format("GPU type {} has no target in the GPU target map", gpu.name);
    return b;
  }
  auto gemms = LayerGemms(shape_, model, layer, mbs, tp);
  if (!gemms || gemms->empty()) {
    b.missing = "the layer has no matrix products of a known transformer shape";
    return b;
  }
  const std::vector<std::string> dtypes = GemmDtypes(model.dtype_bytes);
  // A product's time: the fastest record on the GPU's target, else the operator model's.
  auto time_of = [&](const Json& w, Term* term) -> std::optional<Best> {
    if (target != targets_.end()) {
      if (auto r = Lookup(w, dtypes, target->second)) return r;
    }
    auto p = Predict(w, dtypes.front(), gpu);
    if (!p) return std::nullopt;
    ++term->predicted;
    return Best{*p, "", ""};
  };
  double fwd = 0, bwd = 0;
  for (const LayerGemm& g : *gemms) {
    Term term;
    term.name = g.name;
    auto w = Workload::FromJson(WithDtype(g.fwd, dtypes.front()));
    term.workload_key = w.ok() ? w->Key() : "";
    auto f = time_of(g.fwd, &term);
    if (!f) {
      if (b.missing.empty())
        b.missing = fmt::format(
            "no record for {} ({} {}) on {}", g.name, term.workload_key, w.ok() ? w->Summary() : "",
            target != targets_.end() ? target->second.ExactKey() : "GPU type " + gpu.name);
      b.gemms.push_back(term);
      continue;
    }
    if (!f->workload_key.empty()) term.workload_key = f->workload_key;
    term.fwd = f->median;
    term.target_key = f->target_key;
    auto dg = time_of(g.dgrad, &term);
    auto wg = time_of(g.wgrad, &term);
    term.bwd_measured = dg && wg && term.predicted == 0;
    term.bwd = dg && wg ? dg->median + wg->median : 2 * f->median;
    fwd += term.fwd;
    bwd += term.bwd;
    b.gemms.push_back(term);
  }
  // The roofline of this layer alone, its matrix products removed.
  ModelSpec rest;
  rest.seq_len = model.seq_len;
  rest.dtype_bytes = model.dtype_bytes;
  rest.state_bytes_per_param = model.state_bytes_per_param;
  rest.layers = {model.layers[layer]};
  rest.layers[0].matmul_flops = 0;
  auto nong = roofline_->Time(rest, 0, gpu, mbs, tp);
  OPAL_CHECK(nong.has_value(), "the roofline always answers a valid layer");
  b.non_gemm = *nong;
  if (!b.missing.empty()) return b;
  LayerTime t;
  t.fwd = fwd + nong->fwd;
  t.bwd = bwd + nong->bwd;
  t.update = nong->update;
  bool any_predicted = false;
  for (const Term& term : b.gemms) any_predicted |= term.predicted > 0;
  t.source = any_predicted ? "op-model" : "store";
  b.time = t;
  return b;
}

std::optional<LayerTime> StoreSource::Time(const ModelSpec& model, int layer, const GpuType& gpu,
                                           int mbs, int tp) const {
  if (!targets_.count(gpu.name) && !options_.op_model) return std::nullopt;
  // Layer index identifies the layer: LayerGemms checks that `model` is `shape_`'s.
  const std::string key = fmt::format("{}/{}/{}/{}", layer, gpu.name, mbs, tp);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = times_.find(key); it != times_.end()) return it->second;
  }
  std::optional<LayerTime> t = Explain(model, layer, gpu, mbs, tp).time;
  std::lock_guard<std::mutex> lock(mu_);
  times_.emplace(key, t);
  return t;
}

std::optional<LayerTime> CostModelSource::Time(const ModelSpec&, int, const GpuType&, int,
                                               int) const {
  return std::nullopt;  // relative scores only: see the header
}

bool CostModelSource::Covers(const GpuType& gpu) const {
  auto t = targets_.find(gpu.name);
  return t != targets_.end() && std::find(info_.targets.begin(), info_.targets.end(),
                                          t->second.ExactKey()) != info_.targets.end();
}

std::string CostModelSource::Why(const GpuType& gpu) const {
  auto t = targets_.find(gpu.name);
  if (t == targets_.end())
    return fmt::format("cost model: GPU type {} has no target in the GPU target map", gpu.name);
  if (!Covers(gpu))
    return fmt::format("cost model: not trained on {}'s target {} ({} targets in the model)",
                       gpu.name, t->second.ExactKey(), info_.targets.size());
  return fmt::format(
      "cost model: trained on {}'s target, but its scores are relative (objective {}: GFLOP/s "
      "over the workload's best), so it gives no absolute times",
      gpu.name, info_.objective);
}

}  // namespace opal::plan
