// Plans in Sailor's validation format: load, estimate, simulate, compare with the measurement.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "opal/log.h"
#include "opal/plan_sim.h"
#include "plan/json_read.h"

namespace opal::plan {

namespace {

// One replica entry: [[[gpu, gpus_per_node, zone], ...], tp].
struct ReplicaEntry {
  std::string gpu;
  int gpus_per_node = 0, tp = 0;
};

Result<ReplicaEntry> ReadReplica(const Json& rep, const std::string& path, size_t s) {
  auto bad = [&](const std::string& why) {
    return Error(ErrorCode::kInvalidModel, "{}: stage {}: {}", path, s, why);
  };
  if (!rep.is_array() || rep.size() != 2 || !rep[0].is_array() || rep[0].empty() ||
      !rep[1].is_number_integer())
    return bad("tmp_per_stage entry is not [[[gpu, gpus_per_node, zone]], tp]");
  if (rep[0].size() > 1)
    return Error(ErrorCode::kUnsupported,
                 "{}: stage {}: a replica spans {} nodes; opal keeps tensor parallelism inside a "
                 "node",
                 path, s, rep[0].size());
  const Json& vm = rep[0][0];
  if (!vm.is_array() || vm.size() < 2 || !vm[0].is_string() || !vm[1].is_number_integer() ||
      vm[1].get<int>() <= 0)
    return bad("a node entry is not [gpu, gpus_per_node, zone]");
  ReplicaEntry e{vm[0].get<std::string>(), vm[1].get<int>(), rep[1].get<int>()};
  if (e.tp <= 0) return bad("tp must be a positive integer");
  return e;
}

}  // namespace

Result<SailorPlan> LoadSailorPlan(const std::string& path, const Cluster& cluster) {
  OPAL_ASSIGN_OR_RETURN(Json j, ReadJsonFile(path, "plan"));
  auto bad = [&](const std::string& why) {
    return Error(ErrorCode::kInvalidModel, "{}: {}", path, why);
  };
  if (!j.is_object() || !j.contains("pipeline_list") || !j["pipeline_list"].is_array() ||
      j["pipeline_list"].empty())
    return bad("no pipeline_list");
  if (j["pipeline_list"].size() != 1)
    return Error(ErrorCode::kUnsupported, "{}: several pipelines per plan are not supported", path);
  JsonReader r(j, path);
  SailorPlan sp;
  sp.path = path;
  int mbs = static_cast<int>(r.Positive("mbs"));
  double gbs = r.Positive("gbs");
  sp.measured = r.OptNum("real", 0);
  sp.measured_memory = r.OptNum("max_mem", 0);
  sp.measured_reduce = r.OptNum("red_grads", 0);
  OPAL_RETURN_IF_ERROR(r.status());
  const Json& p = j["pipeline_list"][0];
  if (!p.contains("layers_per_stage") || !p.contains("tmp_per_stage") || !p.contains("dp"))
    return bad("pipeline needs layers_per_stage, tmp_per_stage and dp");
  const Json &layers = p["layers_per_stage"], &tmp = p["tmp_per_stage"], &dp = p["dp"];
  if (!layers.is_array() || !tmp.is_array() || !dp.is_array() || layers.size() != tmp.size() ||
      layers.size() != dp.size() || layers.empty())
    return bad("layers_per_stage, tmp_per_stage and dp must be lists of one entry per stage");
  int expect = 0, replicas = 0;
  for (size_t s = 0; s < layers.size(); ++s) {
    StagePlan st;
    if (!layers[s].is_array() || layers[s].empty())
      return bad(fmt::format("stage {} has no layers", s));
    // Stages hold consecutive layers; the list's length is what counts (a misprinted index,
    // as in some of Sailor's files, is reported and read as the consecutive one).
    st.first = expect;
    for (const auto& l : layers[s]) {
      if (!l.is_number_integer())
        return bad(fmt::format("stage {}: layer ids must be integers", s));
      if (l.get<int>() != expect)
        log::Warn("{}: stage {} lists layer {} where {} follows; read as {}", path, s, l.get<int>(),
                  expect, expect);
      ++expect;
    }
    st.end = expect;
    if (!dp[s].is_number_integer() || dp[s].get<int>() <= 0)
      return bad(fmt::format("stage {}: dp must be a positive integer", s));
    if (!tmp[s].is_array() || tmp[s].size() != dp[s].get<size_t>())
      return bad(fmt::format("stage {}: tmp_per_stage lists {} replicas, dp says {}", s,
                             tmp[s].is_array() ? tmp[s].size() : 0, dp[s].get<int>()));
    // Replicas grouped by (GPU type, tp), in the order they first appear.
    for (const auto& rep : tmp[s]) {
      OPAL_ASSIGN_OR_RETURN(ReplicaEntry e, ReadReplica(rep, path, s));
      auto it = std::find_if(cluster.pools.begin(), cluster.pools.end(),
                             [&](const Pool& q) { return q.gpu.name == e.gpu; });
      if (it == cluster.pools.end())
        return Error(ErrorCode::kInvalidArgument, "{}: GPU '{}' is not in the cluster", path,
                     e.gpu);
      const int pool = static_cast<int>(it - cluster.pools.begin());
      auto& known = sp.gpus_per_node[e.gpu];
      if (known != 0 && known != e.gpus_per_node)
        return bad(fmt::format("'{}' nodes with {} and {} GPUs", e.gpu, known, e.gpus_per_node));
      known = e.gpus_per_node;
      auto g = std::find_if(st.mixed.begin(), st.mixed.end(),
                            [&](const ReplicaGroup& x) { return x.pool == pool && x.tp == e.tp; });
      if (g == st.mixed.end())
        st.mixed.push_back(ReplicaGroup{pool, e.tp, 1, mbs});
      else
        ++g->count;
      if (sp.gpu.find(e.gpu) == std::string::npos) sp.gpu += (sp.gpu.empty() ? "" : "+") + e.gpu;
    }
    st.pool = st.mixed[0].pool;
    st.tp = st.mixed[0].tp;
    st.dp = dp[s].get<int>();
    if (st.mixed.size() == 1) st.mixed.clear();  // one group: a plain stage, an even split
    if (s > 0 && st.dp != replicas)
      return Error(ErrorCode::kUnsupported,
                   "{}: stages with different replica counts ({} and {}) share one micro-batch",
                   path, replicas, st.dp);
    replicas = st.dp;
    sp.plan.stages.push_back(st);
  }
  sp.plan.micro_batch = mbs * replicas;
  sp.plan.num_micro = std::max(1, static_cast<int>(std::llround(gbs)) / sp.plan.micro_batch);
  return sp;
}

Result<ReplayReport> ReplaySailorDir(const std::string& dir, const PlanContext& ctx) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return Error(ErrorCode::kNotFound, "replay directory '{}' does not exist", dir);
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir, ec))
    if (e.is_regular_file() && e.path().extension() == ".json") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  if (files.empty()) return Error(ErrorCode::kNotFound, "no plan (*.json) under '{}'", dir);
  Cluster unlimited = *ctx.cluster;  // replayed plans use the GPUs they name
  for (auto& p : unlimited.pools) p.count = 1 << 30;
  ReplayReport rep;
  double err_sim = 0, err_est = 0, err_mem = 0;
  for (const auto& f : files) {
    ReplayRow row;
    row.path = f;
    auto loaded = LoadSailorPlan(f, unlimited);
    if (!loaded.ok()) {
      row.error = loaded.status().message();
      rep.rows.push_back(row);
      continue;
    }
    SailorPlan sp = std::move(loaded).value();
    ModelSpec model = *ctx.model;
    model.global_batch = static_cast<int64_t>(sp.plan.micro_batch) * sp.plan.num_micro;
    Cluster cluster = unlimited;  // with the file's node sizes
    for (auto& p : cluster.pools) {
      auto it = sp.gpus_per_node.find(p.gpu.name);
      if (it != sp.gpus_per_node.end()) p.instance.gpus_per_node = it->second;
    }
    PlanContext c = ctx;
    c.model = &model;
    c.cluster = &cluster;
    row.measured = sp.measured;
    row.measured_memory = sp.measured_memory;
    row.measured_reduce = sp.measured_reduce;
    row.gpu = sp.gpu;
    Status st = EstimatePlan(c, &sp.plan);
    if (!st.ok()) {
      row.error = st.message();
      rep.rows.push_back(row);
      continue;
    }
    row.estimated = sp.plan.iter_time;
    row.simulated = SimulateIteration(sp.plan).iter_time;
    row.memory = sp.plan.peak_memory;
    row.memory_parts = PlanMemoryParts(c, sp.plan);
    for (const auto& s : sp.plan.stages) {
      row.reduce = std::max(row.reduce, s.tied_allreduce + s.allreduce);
      if (row.source.find(s.source) == std::string::npos)
        row.source += (row.source.empty() ? "" : ",") + s.source;
    }
    if (row.measured > 0) {
      err_sim += std::fabs(row.simulated - row.measured) / row.measured;
      err_est += std::fabs(row.estimated - row.measured) / row.measured;
      ++rep.timed;
    }
    ++rep.replayed;
    if (row.measured_memory > 0) {
      err_mem += std::fabs(row.memory - row.measured_memory) / row.measured_memory;
      ++rep.memory_rows;
    }
    rep.rows.push_back(row);
  }
  if (rep.replayed == 0)
    return Error(ErrorCode::kInvalidArgument,
                 "no plan under '{}' could be replayed with this model: {}", dir,
                 rep.rows[0].error);
  rep.mape_simulated = rep.timed > 0 ? err_sim / rep.timed : 0;
  rep.mape_estimated = rep.timed > 0 ? err_est / rep.timed : 0;
  rep.mape_memory = rep.memory_rows > 0 ? err_mem / rep.memory_rows : 0;
  return rep;
}

}  // namespace opal::plan
