// Plans in Sailor's validation format: load, estimate, simulate, compare with the measurement.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>

#include "opal/log.h"
#include "opal/plan_sim.h"
#include "plan/iteration_terms.h"
#include "plan/json_read.h"

namespace opal::plan {

namespace {

// One replica entry: [[[gpu, gpus_per_node, zone], ...], tp].
struct ReplicaEntry {
  std::string gpu;
  int gpus_per_node = 0, tp = 0;
};

// A GPU type's name without case, '-', '_' and spaces ("RTX3090" and "rtx-3090" are "rtx3090").
std::string Folded(const std::string& name) {
  std::string f;
  for (char c : name)
    if (c != '-' && c != '_' && c != ' ')
      f += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return f;
}

Result<ReplicaEntry> ReadReplica(const Json& rep, const std::string& path, size_t s) {
  auto bad = [&](const std::string& why) {
    return Error(ErrorCode::kInvalidModel, "{}: stage {}: {}", path, s, why);
  };
  if (!rep.is_array() || rep.size() != 2 || !rep[0].is_array() || rep[0].empty() ||
      !rep[1].is_number_integer())
    return bad("tmp_per_stage entry is not [[[gpu, gpus_per_node, zone]], tp]");
  ReplicaEntry e;
  e.tp = rep[1].get<int>();
  if (e.tp <= 0) return bad("tp must be a positive integer");
  for (const Json& vm : rep[0]) {
    if (!vm.is_array() || vm.size() < 2 || !vm[0].is_string() || !vm[1].is_number_integer() ||
        vm[1].get<int>() <= 0)
      return bad("a node entry is not [gpu, gpus_per_node, zone]");
    if (!e.gpu.empty() && Folded(vm[0].get<std::string>()) != Folded(e.gpu))
      return Error(ErrorCode::kUnsupported, "{}: stage {}: a replica on {} and {} GPUs", path, s,
                   e.gpu, vm[0].get<std::string>());
    e.gpu = vm[0].get<std::string>();
    e.gpus_per_node += vm[1].get<int>();
  }
  if (rep[0].size() > 1)  // tensor parallelism across nodes: read as one node of all their GPUs
    log::Warn(
        "{}: stage {}: a replica spans {} nodes; read as one node of {} {} (the profiles "
        "measured tensor parallelism inside a node)",
        path, s, rep[0].size(), e.gpus_per_node, e.gpu);
  return e;
}

// The pool of `e`'s GPU type and node size, added to the cluster (a copy of the GPU type's pool
// with the file's node size) when the cluster has none.
Result<int> PoolOf(const ReplicaEntry& e, Cluster* cluster, const std::string& path) {
  int same_gpu = -1;
  for (size_t i = 0; i < cluster->pools.size(); ++i) {
    const Pool& q = cluster->pools[i];
    if (Folded(q.gpu.name) != Folded(e.gpu)) continue;
    if (q.instance.gpus_per_node == e.gpus_per_node) return static_cast<int>(i);
    if (same_gpu < 0) same_gpu = static_cast<int>(i);
  }
  if (same_gpu < 0) {
    std::string known;
    for (const auto& q : cluster->pools) known += (known.empty() ? "" : ", ") + q.gpu.name;
    return Error(ErrorCode::kInvalidArgument, "{}: GPU '{}' is not in the cluster (known: {})",
                 path, e.gpu, known);
  }
  Pool copy = cluster->pools[same_gpu];
  copy.instance.gpus_per_node = e.gpus_per_node;
  cluster->pools.push_back(copy);
  return static_cast<int>(cluster->pools.size() - 1);
}

}  // namespace

Result<SailorPlan> LoadSailorPlan(const std::string& path, Cluster* cluster) {
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
  const int mbs = static_cast<int>(r.Positive("mbs"));
  const double gbs = r.Positive("gbs");
  sp.measured = r.OptNum("real", 0);
  sp.measured_memory = r.OptNum("max_mem", 0);
  sp.measured_reduce = r.OptNum("red_grads", 0);
  OPAL_RETURN_IF_ERROR(r.status());
  const Json& p = j["pipeline_list"][0];
  if (!p.contains("layers_per_stage") || !p.contains("tmp_per_stage"))
    return bad("pipeline needs layers_per_stage and tmp_per_stage");
  const Json &layers = p["layers_per_stage"], &tmp = p["tmp_per_stage"];
  const Json dp = p.contains("dp") ? p["dp"] : Json();
  if (!layers.is_array() || !tmp.is_array() || layers.size() != tmp.size() || layers.empty() ||
      (!dp.is_null() && (!dp.is_array() || dp.size() != layers.size())))
    return bad("layers_per_stage, tmp_per_stage (and dp) must be lists of one entry per stage");
  int expect = 0, max_dp = 0;
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
    if (!tmp[s].is_array() || tmp[s].empty())
      return bad(fmt::format("stage {}: tmp_per_stage lists no replica", s));
    const int listed = static_cast<int>(tmp[s].size());
    if (!dp.is_null() && (!dp[s].is_number_integer() || dp[s].get<int>() != listed))
      log::Warn(
          "{}: stage {}: dp says {} but tmp_per_stage lists {} replicas; the listed ones "
          "are replayed",
          path, s, dp[s].dump(), listed);
    // Replicas grouped by (pool, tp), in the order they first appear.
    for (const auto& rep : tmp[s]) {
      OPAL_ASSIGN_OR_RETURN(ReplicaEntry e, ReadReplica(rep, path, s));
      OPAL_ASSIGN_OR_RETURN(const int pool, PoolOf(e, cluster, path));
      sp.gpus_per_node[cluster->pools[pool].gpu.name] = e.gpus_per_node;
      auto g = std::find_if(st.mixed.begin(), st.mixed.end(),
                            [&](const ReplicaGroup& x) { return x.pool == pool && x.tp == e.tp; });
      if (g == st.mixed.end())
        st.mixed.push_back(ReplicaGroup{pool, e.tp, 1, 0});
      else
        ++g->count;
      const std::string& name = cluster->pools[pool].gpu.name;
      if (sp.gpu.find(name) == std::string::npos) sp.gpu += (sp.gpu.empty() ? "" : "+") + name;
    }
    st.pool = st.mixed[0].pool;
    st.tp = st.mixed[0].tp;
    st.dp = listed;
    max_dp = std::max(max_dp, listed);
    sp.plan.stages.push_back(st);
  }
  // One micro-batch: mbs samples on every replica of the widest stage; a stage with fewer
  // replicas splits it among them (DeepSpeed needs equal replica counts; Sailor's plans may not).
  sp.plan.micro_batch = mbs * max_dp;
  for (size_t s = 0; s < sp.plan.stages.size(); ++s) {
    StagePlan& st = sp.plan.stages[s];
    if (sp.plan.micro_batch % st.dp != 0)
      return Error(ErrorCode::kUnsupported,
                   "{}: stage {}'s {} replicas cannot split a micro-batch of {} ({} replicas x "
                   "mbs {}) evenly",
                   path, s, st.dp, sp.plan.micro_batch, max_dp, mbs);
    for (auto& g : st.mixed) g.samples = sp.plan.micro_batch / st.dp;
    if (st.mixed.size() == 1) st.mixed.clear();  // one group: a plain stage, an even split
  }
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
    Cluster cluster = unlimited;  // LoadSailorPlan adds pools of the file's node sizes
    auto loaded = LoadSailorPlan(f, &cluster);
    if (!loaded.ok()) {
      row.error = loaded.status().message();
      rep.rows.push_back(row);
      continue;
    }
    SailorPlan sp = std::move(loaded).value();
    ModelSpec model = *ctx.model;
    model.global_batch = static_cast<int64_t>(sp.plan.micro_batch) * sp.plan.num_micro;
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
    row.terms = sp.plan.terms;
    row.stages = sp.plan.stages;
    row.simulated = SimulateIteration(sp.plan).iter_time;
    row.memory_parts = PlanMemoryParts(c, sp.plan);
    // A run that happened used at most its GPUs' memory: a prediction above that is read as the
    // memory (the caching allocator fills what it can before a run fails).
    row.memory = 0;
    for (const auto& p : row.memory_parts)
      row.memory = std::max(row.memory, std::min(MemoryBytes(p, c.options), p.capacity));
    row.memory_capped = row.memory < sp.plan.peak_memory;
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
