// Operator samples for the GPU operator model, from the store and from DeepBench files, and the
// model's view of catalog GPU types (include/opal/plan_gpu_ops.h).
#include <fmt/format.h>

#include "opal/plan_gpu_ops.h"
#include "opal/workload.h"
#include "plan/json_read.h"

namespace opal::plan {

GpuSpec GpuSpecOf(const GpuType& g) {
  GpuSpec s;
  s.name = g.name;
  s.compute_capability = g.compute_capability;
  s.sms = g.sms;
  s.fp32_flops = g.fp32_flops;
  s.tensor_flops = g.tensor_flops;
  s.tf32_flops = g.tf32_flops;
  s.mem_bw = g.mem_bw;
  s.l2_bytes = g.l2_bytes;
  return s;
}

std::map<std::string, GpuSpec> GpuSpecs(const Catalog& catalog) {
  std::map<std::string, GpuSpec> out;
  for (const auto& g : catalog.gpus) out[g.name] = GpuSpecOf(g);
  return out;
}

Result<std::map<std::string, std::string>> LoadGpuAliases(const std::string& path) {
  OPAL_ASSIGN_OR_RETURN(Json j, ReadJsonFile(path, "GPU targets"));
  std::map<std::string, std::string> out;
  if (!j.is_object() || !j.contains("aliases")) return out;
  if (!j["aliases"].is_object())
    return Error(ErrorCode::kInvalidModel, "{}: \"aliases\" must be an object", path);
  for (const auto& [alias, name] : j["aliases"].items()) {
    if (!name.is_string())
      return Error(ErrorCode::kInvalidModel, "{}: alias '{}' must name a GPU type", path, alias);
    out[alias] = name.get<std::string>();
  }
  return out;
}

std::map<std::string, Target> WithAliases(std::map<std::string, Target> targets,
                                          const std::map<std::string, std::string>& aliases) {
  for (const auto& [alias, name] : aliases) {
    auto it = targets.find(name);
    if (it != targets.end()) targets.emplace(alias, it->second);
  }
  return targets;
}

Result<std::vector<GpuOpSample>> StoreGpuOpSamples(RecordStore& store, const Catalog& catalog,
                                                   const std::map<std::string, Target>& targets) {
  std::vector<GpuOpSample> out;
  for (const auto& g : catalog.gpus) {
    auto t = targets.find(g.name);
    if (t == targets.end()) continue;
    // workload key -> (op, fastest median)
    std::map<std::string, std::pair<GpuOp, double>> best;
    RecordFilter filter;
    filter.target_key = t->second.ExactKey();
    filter.ok_only = true;
    OPAL_RETURN_IF_ERROR(store.Scan(filter, [&](const Record& r) {
      if (r.median_s <= 0) return true;
      if (r.op != "dense" && r.op != "batch_matmul" && r.op != "conv2d") return true;
      auto it = best.find(r.workload_key);
      if (it != best.end()) {
        it->second.second = std::min(it->second.second, r.median_s);
        return true;
      }
      Json j = Json::parse(r.workload_json, nullptr, false);
      if (j.is_discarded()) return true;
      auto w = Workload::FromJson(j);
      if (!w.ok()) return true;
      auto op = GpuOp::FromWorkload(*w);
      if (!op.ok()) return true;  // a kind the model does not read
      best.emplace(r.workload_key, std::make_pair(*op, r.median_s));
      return true;
    }));
    for (const auto& [key, v] : best) out.push_back({v.first, g.name, v.second});
  }
  return out;
}

Result<std::vector<GpuOpSample>> DeepBenchGpuOpSamples(
    const DeepBenchData& data, const Catalog& catalog,
    const std::map<std::string, std::string>& aliases) {
  auto name_of = [&](const std::string& gpu, const std::string& where) -> Result<std::string> {
    auto a = aliases.find(gpu);
    const std::string name = a == aliases.end() ? gpu : a->second;
    if (!catalog.FindGpu(name))
      return Error(ErrorCode::kInvalidArgument,
                   "{}: GPU '{}' is not a catalog GPU type or an alias of one (catalog: {})", where,
                   gpu, catalog.GpuNames());
    return name;
  };
  std::vector<GpuOpSample> out;
  for (const auto& g : data.gemms) {
    OPAL_ASSIGN_OR_RETURN(std::string name, name_of(g.gpu, g.where));
    OPAL_ASSIGN_OR_RETURN(Workload w, Workload::FromJson(DeepBenchGemmWorkload(g)));
    OPAL_ASSIGN_OR_RETURN(GpuOp op, GpuOp::FromWorkload(w));
    out.push_back({op, name, g.time_ms / 1e3});
  }
  for (const auto& c : data.convs) {
    OPAL_ASSIGN_OR_RETURN(std::string name, name_of(c.gpu, c.where));
    OPAL_ASSIGN_OR_RETURN(Workload w, Workload::FromJson(DeepBenchConvWorkload(c)));
    OPAL_ASSIGN_OR_RETURN(GpuOp op, GpuOp::FromWorkload(w));
    const std::pair<GpuOpPass, double> passes[] = {
        {GpuOpPass::kConvForward, c.fwd_ms},
        {GpuOpPass::kConvBackwardData, c.bwd_data_ms},
        {GpuOpPass::kConvBackwardFilter, c.bwd_filter_ms}};
    for (const auto& [pass, ms] : passes) {
      op.pass = pass;
      out.push_back({op, name, ms / 1e3});
    }
  }
  return out;
}

}  // namespace opal::plan
