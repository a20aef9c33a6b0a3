#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "opal/plan_catalog.h"
#include "plan/json_read.h"

namespace opal::plan {

double LinkCurve::Bandwidth(double bytes) const {
  double bw = peak;
  if (!coeffs.empty() && bytes > 0) {
    double x = std::log2(bytes / 1e6), gbs = 0;
    for (double c : coeffs) gbs = gbs * x + c;
    bw = std::min(peak, gbs * 1e9);
  }
  return std::max(bw, 0.02 * peak);
}

double LinkCurve::Seconds(double bytes) const {
  if (bytes <= 0) return 0;
  double bw = Bandwidth(bytes);
  OPAL_CHECK(bw > 0, "link with no bandwidth");
  return bytes / bw;
}

const GpuType* Catalog::FindGpu(const std::string& name) const {
  for (const auto& g : gpus)
    if (g.name == name) return &g;
  return nullptr;
}

const InstanceType* Catalog::FindInstance(const std::string& name) const {
  for (const auto& i : instances)
    if (i.name == name) return &i;
  return nullptr;
}

const InstanceType* Catalog::CheapestInstanceFor(const std::string& gpu) const {
  const InstanceType* best = nullptr;
  for (const auto& i : instances) {
    if (i.gpu != gpu) continue;
    if (!best || i.price_per_hour / i.gpus_per_node < best->price_per_hour / best->gpus_per_node)
      best = &i;
  }
  return best;
}

std::string Catalog::GpuNames() const {
  std::string s;
  for (const auto& g : gpus) s += (s.empty() ? "" : ", ") + g.name;
  return s;
}

Status Catalog::Merge(const Json& j, const std::string& origin) {
  if (!j.is_object()) return Error(ErrorCode::kInvalidModel, "{}: expected a JSON object", origin);
  if (j.contains("gpus")) {
    if (!j["gpus"].is_array())
      return Error(ErrorCode::kInvalidModel, "{}: 'gpus' must be a list", origin);
    for (const auto& e : j["gpus"]) {
      JsonReader r(e, origin + ": gpu");
      GpuType g;
      g.name = r.Str("name");
      r.SetWhere(origin + ": gpu '" + g.name + "'");
      g.memory = r.Positive("memory_gb") * 1e9;
      g.tensor_flops = r.Positive("tensor_tflops") * 1e12;
      g.fp32_flops = r.Positive("fp32_tflops") * 1e12;
      g.tf32_flops = r.OptNum("tf32_tflops", 0) * 1e12;
      g.mem_bw = r.Positive("mem_bw_gbps") * 1e9;
      g.intra.peak = r.Positive("intra_gbps") * 1e9;
      g.sms = static_cast<int>(r.OptNum("sms", 0));
      g.l2_bytes = r.OptNum("l2_mb", 0) * 1048576;
      g.compute_capability = static_cast<int>(std::lround(r.OptNum("compute_capability", 0) * 10));
      g.source = r.Str("source");
      OPAL_RETURN_IF_ERROR(r.status());
      if (g.tf32_flops < 0 || g.sms < 0 || g.l2_bytes < 0 || g.compute_capability < 0)
        return Error(ErrorCode::kInvalidModel,
                     "{}: gpu '{}': tf32_tflops, sms, l2_mb and compute_capability must be >= 0",
                     origin, g.name);
      auto it = std::find_if(gpus.begin(), gpus.end(),
                             [&](const GpuType& x) { return x.name == g.name; });
      if (it != gpus.end())
        *it = g;
      else
        gpus.push_back(g);
    }
  }
  if (j.contains("instances")) {
    if (!j["instances"].is_array())
      return Error(ErrorCode::kInvalidModel, "{}: 'instances' must be a list", origin);
    for (const auto& e : j["instances"]) {
      JsonReader r(e, origin + ": instance");
      InstanceType i;
      i.name = r.Str("name");
      r.SetWhere(origin + ": instance '" + i.name + "'");
      i.gpu = r.Str("gpu");
      i.gpus_per_node = static_cast<int>(r.Positive("gpus_per_node"));
      i.network = r.Positive("network_gbit") * 1e9 / 8;
      i.price_per_hour = r.Positive("price_per_hour");
      i.provider = r.Str("provider");
      i.price_date = r.Str("price_date");
      i.source = r.Str("source");
      OPAL_RETURN_IF_ERROR(r.status());
      if (!FindGpu(i.gpu))
        return Error(ErrorCode::kInvalidModel,
                     "{}: instance '{}' uses unknown GPU '{}' (known: {})", origin, i.name, i.gpu,
                     GpuNames());
      auto it = std::find_if(instances.begin(), instances.end(),
                             [&](const InstanceType& x) { return x.name == i.name; });
      if (it != instances.end())
        *it = i;
      else
        instances.push_back(i);
    }
  }
  return Status::Ok();
}

std::string DefaultCatalogDir() {
  const char* env = std::getenv("OPAL_CATALOG_DIR");
  return env && *env ? env : OPAL_CATALOG_DIR;
}

Result<Catalog> LoadCatalog(const std::string& path) {
  OPAL_ASSIGN_OR_RETURN(Json j, ReadJsonFile(path, "catalog"));
  Catalog c;
  OPAL_RETURN_IF_ERROR(c.Merge(j, path));
  if (c.gpus.empty()) return Error(ErrorCode::kInvalidModel, "{}: the catalog lists no GPU", path);
  return c;
}

LinkCurve GpuType::IntraLink(int gpus) const {
  if (intra_by_k.empty()) return intra;
  auto it = intra_by_k.upper_bound(gpus);
  return it == intra_by_k.begin() ? it->second : std::prev(it)->second;
}

double Pool::NodeBandwidth(int flows, double bytes_per_flow) const {
  const double nic = instance.network;
  const auto& curves = gpu.inter_by_k;
  if (curves.empty() || flows <= 0) return nic;
  auto hi = curves.lower_bound(flows);
  double bw;
  if (hi == curves.end()) {  // more senders than measured: the node is as busy as it gets
    bw = std::prev(hi)->second.Bandwidth(bytes_per_flow);
  } else if (hi->first == flows) {
    bw = hi->second.Bandwidth(bytes_per_flow);
  } else if (hi == curves.begin()) {  // fewer senders than the smallest count measured
    bw = hi->second.Bandwidth(bytes_per_flow) * flows / hi->first;
  } else {
    auto lo = std::prev(hi);
    double w = static_cast<double>(flows - lo->first) / (hi->first - lo->first);
    bw = (1 - w) * lo->second.Bandwidth(bytes_per_flow) + w * hi->second.Bandwidth(bytes_per_flow);
  }
  return nic > 0 ? std::min(bw, nic) : bw;
}

double Pool::NodeSeconds(int flows, double bytes_per_flow, double message_bytes) const {
  if (flows <= 0 || bytes_per_flow <= 0) return 0;
  double bw = NodeBandwidth(flows, message_bytes > 0 ? message_bytes : bytes_per_flow);
  OPAL_CHECK(bw > 0, "node with no network bandwidth");
  return flows * bytes_per_flow / bw;
}

int Cluster::TotalGpus() const {
  int n = 0;
  for (const auto& p : pools) n += p.count;
  return n;
}

Result<Cluster> ClusterFromJson(const Json& j, Catalog* catalog, const std::string& origin) {
  OPAL_RETURN_IF_ERROR(catalog->Merge(j, origin));
  if (!j.contains("available") || !j["available"].is_array() || j["available"].empty())
    return Error(ErrorCode::kInvalidModel,
                 "{}: no 'available' list; give e.g. \"available\": [{{\"gpu\": \"A100-80\", "
                 "\"count\": 16}}]",
                 origin);
  Cluster c;
  for (const auto& e : j["available"]) {
    JsonReader r(e, origin + ": available entry");
    Pool p;
    std::string gpu = r.Str("gpu");
    p.count = static_cast<int>(r.Positive("count"));
    std::string inst = r.OptStr("instance", "");
    OPAL_RETURN_IF_ERROR(r.status());
    const GpuType* g = catalog->FindGpu(gpu);
    if (!g)
      return Error(ErrorCode::kInvalidArgument, "{}: unknown GPU '{}' (known: {})", origin, gpu,
                   catalog->GpuNames());
    const InstanceType* i =
        inst.empty() ? catalog->CheapestInstanceFor(gpu) : catalog->FindInstance(inst);
    if (!i)
      return Error(ErrorCode::kInvalidArgument,
                   "{}: no instance type '{}' for GPU '{}' in the catalog", origin,
                   inst.empty() ? "(any)" : inst, gpu);
    if (i->gpu != gpu)
      return Error(ErrorCode::kInvalidArgument, "{}: instance '{}' has {} GPUs, not {}", origin,
                   i->name, i->gpu, gpu);
    for (const auto& q : c.pools)
      if (q.gpu.name == gpu && q.instance.name == i->name)
        return Error(ErrorCode::kInvalidModel, "{}: GPU '{}' on '{}' listed twice", origin, gpu,
                     i->name);
    p.gpu = *g;
    p.instance = *i;
    c.pools.push_back(p);
  }
  return c;
}

Result<Cluster> LoadCluster(const std::string& path, Catalog* catalog) {
  OPAL_ASSIGN_OR_RETURN(Json j, ReadJsonFile(path, "cluster"));
  return ClusterFromJson(j, catalog, path);
}

}  // namespace opal::plan

namespace opal::plan {
namespace {

Result<LinkCurve> CurveFromJson(const Json& e, const std::string& where) {
  if (!e.is_array() || e.size() != 2 || !e[0].is_array() || !e[1].is_number())
    return Error(ErrorCode::kInvalidModel, "{}: expected [[coefficients], peak]", where);
  LinkCurve c;
  for (const auto& x : e[0]) {
    if (!x.is_number())
      return Error(ErrorCode::kInvalidModel, "{}: coefficient is not a number", where);
    c.coeffs.push_back(x.get<double>());
  }
  c.peak = e[1].get<double>();
  if (!(c.peak > 0)) return Error(ErrorCode::kInvalidModel, "{}: peak must be > 0", where);
  return c;
}

}  // namespace

Status ApplySailorNetwork(const std::string& path, Catalog* catalog) {
  OPAL_ASSIGN_OR_RETURN(Json j, ReadJsonFile(path, "network"));
  for (const char* kind : {"inter", "intra"}) {
    if (!j.contains(kind) || !j[kind].is_object()) continue;
    for (const auto& [gpu, per_k] : j[kind].items()) {
      GpuType* g = nullptr;
      for (auto& x : catalog->gpus)
        if (x.name == gpu) g = &x;
      if (!g || !per_k.is_object() || per_k.empty()) continue;
      auto& by_k = std::string(kind) == "inter" ? g->inter_by_k : g->intra_by_k;
      by_k.clear();
      for (const auto& [k, v] : per_k.items()) {  // every measured GPU count
        int kk = std::atoi(k.c_str());
        if (kk <= 0)
          return Error(ErrorCode::kInvalidModel, "{}: {}/{}: '{}' is not a GPU count", path, kind,
                       gpu, k);
        OPAL_ASSIGN_OR_RETURN(by_k[kk],
                              CurveFromJson(v, fmt::format("{}: {}/{}/{}", path, kind, gpu, kk)));
      }
      if (std::string(kind) == "inter") continue;
      int best_k = 0;
      for (const auto& [k, v] : per_k.items()) {
        int kk = std::atoi(k.c_str());
        if (kk > 0 && (best_k == 0 || kk < best_k)) best_k = kk;
      }
      if (best_k == 0) continue;
      OPAL_ASSIGN_OR_RETURN(LinkCurve c,
                            CurveFromJson(per_k[std::to_string(best_k)],
                                          fmt::format("{}: {}/{}/{}", path, kind, gpu, best_k)));
      g->intra = c;
    }
  }
  return Status::Ok();
}

}  // namespace opal::plan
