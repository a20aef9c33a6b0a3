// Plans in Sailor's validation format: load, estimate, simulate, compare with the measurement.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "opal/log.h"
#include "opal/plan_sim.h"
#include "plan/json_read.h"

namespace opal::plan {

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
  sp.measured = r.Positive("real");
  OPAL_RETURN_IF_ERROR(r.status());
  const Json& p = j["pipeline_list"][0];
  if (!p.contains("layers_per_stage") || !p.contains("tmp_per_stage") || !p.contains("dp"))
    return bad("pipeline needs layers_per_stage, tmp_per_stage and dp");
  const Json &layers = p["layers_per_stage"], &tmp = p["tmp_per_stage"], &dp = p["dp"];
  if (!layers.is_array() || !tmp.is_array() || !dp.is_array() || layers.size() != tmp.size() ||
      layers.size() != dp.size() || layers.empty())
    return bad("layers_per_stage, tmp_per_stage and dp must be lists of one entry per stage");
  int expect = 0;
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
    st.dp = dp[s].get<int>();
    const Json& rep = tmp[s].is_array() && !tmp[s].empty() ? tmp[s][0] : Json();
    // [[[gpu, gpus_per_node, zone]], tp]
    if (!rep.is_array() || rep.size() != 2 || !rep[0].is_array() || rep[0].empty() ||
        !rep[0][0].is_array() || rep[0][0].empty() || !rep[0][0][0].is_string() ||
        !rep[1].is_number_integer())
      return bad(fmt::format("stage {}: tmp_per_stage entry is not [[[gpu, n, zone]], tp]", s));
    std::string gpu = rep[0][0][0].get<std::string>();
    st.tp = rep[1].get<int>();
    auto it = std::find_if(cluster.pools.begin(), cluster.pools.end(),
                           [&](const Pool& q) { return q.gpu.name == gpu; });
    if (it == cluster.pools.end())
      return Error(ErrorCode::kInvalidArgument, "{}: GPU '{}' is not in the cluster", path, gpu);
    st.pool = static_cast<int>(it - cluster.pools.begin());
    sp.gpu = gpu;
    sp.plan.stages.push_back(st);
  }
  for (const auto& st : sp.plan.stages)
    if (st.dp != sp.plan.stages[0].dp)
      return Error(ErrorCode::kUnsupported, "{}: stages with different dp and one micro-batch size",
                   path);
  sp.plan.micro_batch = mbs * sp.plan.stages[0].dp;
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
  double err_sim = 0, err_est = 0;
  int n = 0;
  for (const auto& f : files) {
    auto loaded = LoadSailorPlan(f, unlimited);
    if (!loaded.ok()) {
      ReplayRow bad_row;
      bad_row.path = f;
      bad_row.error = loaded.status().message();
      rep.rows.push_back(bad_row);
      continue;
    }
    SailorPlan sp = std::move(loaded).value();
    ModelSpec model = *ctx.model;
    model.global_batch = static_cast<int64_t>(sp.plan.micro_batch) * sp.plan.num_micro;
    PlanContext c = ctx;
    c.model = &model;
    c.cluster = &unlimited;
    ReplayRow row;
    row.path = f;
    row.measured = sp.measured;
    Status st = EstimatePlan(c, &sp.plan);
    if (!st.ok()) {
      row.error = st.message();
      rep.rows.push_back(row);
      continue;
    }
    row.estimated = sp.plan.iter_time;
    row.simulated = SimulateIteration(sp.plan).iter_time;
    for (const auto& s : sp.plan.stages)
      if (row.source.find(s.source) == std::string::npos)
        row.source += (row.source.empty() ? "" : ",") + s.source;
    err_sim += std::fabs(row.simulated - row.measured) / row.measured;
    err_est += std::fabs(row.estimated - row.measured) / row.measured;
    ++n;
    rep.rows.push_back(row);
  }
  if (n == 0)
    return Error(ErrorCode::kInvalidArgument,
                 "no plan under '{}' could be replayed with this model: {}", dir,
                 rep.rows[0].error);
  rep.mape_simulated = err_sim / n;
  rep.mape_estimated = err_est / n;
  rep.replayed = n;
  return rep;
}

}  // namespace opal::plan
