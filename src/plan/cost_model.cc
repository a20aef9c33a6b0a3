// EstimatePlan, Objective and goals.
#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "opal/plan.h"
#include "plan/cost_terms.h"
#include "plan/json_read.h"

namespace opal::plan {

int StagePlan::Gpus() const {
  if (mixed.empty()) return tp * dp;
  int n = 0;
  for (const auto& g : mixed) n += g.tp * g.count;
  return n;
}

std::vector<ReplicaGroup> StagePlan::Groups(int micro_batch) const {
  std::vector<ReplicaGroup> out = mixed;
  if (out.empty()) out.push_back(ReplicaGroup{pool, tp, dp, 0});
  int replicas = 0;
  for (const auto& g : out) replicas += g.count;
  for (auto& g : out)
    if (g.samples <= 0) g.samples = replicas > 0 ? micro_batch / replicas : 0;
  return out;
}

int Plan::Gpus() const {
  int n = 0;
  for (const auto& s : stages) n += s.Gpus();
  return n;
}

double CostOptions::Reserve(const std::string& gpu) const {
  auto it = memory.reserve.find(gpu);
  return it == memory.reserve.end() ? reserve_bytes : it->second;
}

namespace {

// Checks a stage's replicas against the cluster and the micro-batch; counts their GPUs.
Status CheckReplicas(const Cluster& cluster, int s, const StagePlan& st, int micro_batch,
                     std::vector<int>* used) {
  int given = 0, sum = 0, replicas = st.mixed.empty() ? st.dp : 0;
  for (const auto& g : st.mixed) {
    replicas += g.count;
    given += g.samples > 0;
    sum += g.count * g.samples;
  }
  if (!st.mixed.empty() &&
      (replicas != st.dp || st.mixed[0].pool != st.pool || st.mixed[0].tp != st.tp))
    return Error(ErrorCode::kInvalidArgument,
                 "stage {}: pool, tp and dp must be its first group's and its replica count", s);
  if (given == 0 && (st.dp <= 0 || micro_batch % st.dp != 0))
    return Error(ErrorCode::kInvalidArgument, "stage {}: dp {} must divide the micro-batch {}", s,
                 st.dp, micro_batch);
  if (given > 0 && (given != static_cast<int>(st.mixed.size()) || sum != micro_batch))
    return Error(ErrorCode::kInvalidArgument,
                 "stage {}: its replicas take {} samples of a micro-batch of {}", s, sum,
                 micro_batch);
  for (const auto& g : st.Groups(micro_batch)) {
    if (g.pool < 0 || g.pool >= static_cast<int>(cluster.pools.size()))
      return Error(ErrorCode::kInvalidArgument, "stage {}: no pool {}", s, g.pool);
    if (g.tp <= 0 || g.count <= 0 || g.samples <= 0)
      return Error(ErrorCode::kInvalidArgument,
                   "stage {}: a replica group needs tp, count and samples > 0", s);
    if (g.tp > cluster.pools[g.pool].instance.gpus_per_node)
      return Error(ErrorCode::kInvalidArgument, "stage {}: tp {} exceeds the {} GPUs of a node", s,
                   g.tp, cluster.pools[g.pool].instance.gpus_per_node);
    (*used)[g.pool] += g.tp * g.count;
  }
  return Status::Ok();
}

// Parameters of a stage: one copy of the tied ones when it holds both the first and last layer.
double StageParams(const ModelSpec& model, const StagePlan& st) {
  double params = 0;
  for (int l = st.first; l < st.end; ++l) params += model.layers[l].params;
  if (st.first == 0 && st.end == static_cast<int>(model.layers.size())) params -= model.tied_params;
  return params;
}

StageMemoryInput MemoryInputOf(const ModelSpec& model, const StagePlan& st, const ReplicaGroup& g,
                               int inflight) {
  StageMemoryInput mi;
  mi.params = StageParams(model, st);
  for (int l = st.first; l < st.end; ++l) {
    mi.act_sharded += model.layers[l].act_bytes;
    mi.act_replicated += model.layers[l].act_replicated;
    mi.act_exact += model.layers[l].act_exact;
  }
  mi.out_bytes = model.layers[st.end - 1].out_bytes;
  mi.tp = g.tp;
  mi.samples = g.samples;
  mi.inflight = inflight;
  mi.state_bytes_per_param = model.state_bytes_per_param;
  return mi;
}

std::vector<GroupAt> At(const Cluster& cluster, const std::vector<ReplicaGroup>& groups) {
  std::vector<GroupAt> v;
  for (const auto& g : groups) v.push_back({&cluster.pools[g.pool], g});
  return v;
}

}  // namespace

Status EstimatePlan(const PlanContext& ctx, Plan* plan) {
  const ModelSpec& model = *ctx.model;
  const Cluster& cluster = *ctx.cluster;
  const int L = static_cast<int>(model.layers.size());
  const int S = static_cast<int>(plan->stages.size());
  if (S == 0) return Error(ErrorCode::kInvalidArgument, "plan has no stages");
  if (plan->micro_batch <= 0 || model.global_batch % plan->micro_batch != 0)
    return Error(ErrorCode::kInvalidArgument, "micro-batch {} does not divide the global batch {}",
                 plan->micro_batch, model.global_batch);
  plan->num_micro = static_cast<int>(model.global_batch / plan->micro_batch);
  std::vector<int> used(cluster.pools.size(), 0);
  int expect = 0;
  for (int s = 0; s < S; ++s) {
    const StagePlan& st = plan->stages[s];
    if (st.first != expect || st.end <= st.first || st.end > L)
      return Error(ErrorCode::kInvalidArgument,
                   "stage {} holds layers [{}, {}); expected to start at {} and end by {}", s,
                   st.first, st.end, expect, L);
    OPAL_RETURN_IF_ERROR(CheckReplicas(cluster, s, st, plan->micro_batch, &used));
    expect = st.end;
  }
  if (expect != L)
    return Error(ErrorCode::kInvalidArgument, "stages cover layers [0, {}) of {}", expect, L);
  for (size_t p = 0; p < used.size(); ++p)
    if (used[p] > cluster.pools[p].count)
      return Error(ErrorCode::kInvalidArgument, "plan uses {} GPUs of pool {} ({}), which has {}",
                   used[p], p, cluster.pools[p].gpu.name, cluster.pools[p].count);

  const int M = plan->num_micro;
  double price = 0;
  plan->fits_memory = true;
  plan->peak_memory = 0;
  std::vector<std::vector<GroupAt>> groups(S);
  for (int s = 0; s < S; ++s) {
    StagePlan& st = plan->stages[s];
    groups[s] = At(cluster, st.Groups(plan->micro_batch));
    const double params = StageParams(model, st);
    st.fwd = st.bwd = st.update = st.memory = 0;
    std::string src;
    for (const GroupAt& g : groups[s]) {
      double f = 0, b = 0, u = 0;
      for (int l = st.first; l < st.end; ++l) {
        auto t = LayerTimeOf(ctx, l, g.pool->gpu, g.group.samples, g.group.tp);
        if (!t)
          return Error(ErrorCode::kUnsupported,
                       "no time for layer {} on {} (micro-batch {}, tp {}) from {}", l,
                       g.pool->gpu.name, g.group.samples, g.group.tp, ctx.perf->Name());
        f += t->fwd;
        b += t->bwd;
        u += t->update;
        if (src.find(t->source) == std::string::npos)
          src += (src.empty() ? "" : "+") + std::string(t->source);
      }
      st.fwd = std::max(st.fwd, f);
      st.bwd = std::max(st.bwd, b);
      st.update = std::max(st.update, u);
      const double mem = StageMemoryBytes(MemoryInputOf(model, st, g.group, InFlight(M, S - s)),
                                          g.pool->gpu, ctx.options);
      if (mem > g.pool->gpu.memory) plan->fits_memory = false;
      st.memory = std::max(st.memory, mem);
      price += g.group.tp * g.group.count * g.pool->PricePerGpuHour();
    }
    st.source = src;
    st.allreduce = GradAllReduceSeconds(groups[s], params * model.dtype_bytes,
                                        ctx.options.hierarchical_allreduce);
    st.tied_allreduce = 0;
    plan->peak_memory = std::max(plan->peak_memory, st.memory);
  }
  if (S > 1 && model.tied_params > 0) {
    const double t =
        TiedAllReduceSeconds(groups[0], groups[S - 1], model.tied_params * model.dtype_bytes);
    plan->stages[0].tied_allreduce = plan->stages[S - 1].tied_allreduce = t;
  }
  std::vector<StageTimes> times(S);
  for (int s = 0; s < S; ++s) {
    StagePlan& st = plan->stages[s];
    st.p2p_out = s + 1 < S
                     ? P2pSeconds(groups[s], groups[s + 1], model.layers[st.end - 1].out_bytes,
                                  ctx.options.p2p_split_by_tp)
                     : 0;
    times[s] = {st.fwd, st.bwd, st.p2p_out, st.tied_allreduce + st.allreduce + st.update};
  }
  for (int s = 0; s < S; ++s) {
    StagePlan& st = plan->stages[s];
    const double p_in = s > 0 ? plan->stages[s - 1].p2p_out : 0;
    st.busy = st.fwd + st.bwd + 2 * (p_in + st.p2p_out);
  }
  plan->terms = PipelineSecondsTerms(times, M);
  plan->iter_time = plan->terms.Total();
  plan->price_per_hour = price;
  return Status::Ok();
}

std::vector<MemoryParts> PlanMemoryParts(const PlanContext& ctx, const Plan& plan) {
  std::vector<MemoryParts> out;
  const int S = static_cast<int>(plan.stages.size());
  for (int s = 0; s < S; ++s) {
    const StagePlan& st = plan.stages[s];
    for (const auto& g : st.Groups(plan.micro_batch))
      out.push_back(
          StageMemoryParts(MemoryInputOf(*ctx.model, st, g, InFlight(plan.num_micro, S - s)),
                           ctx.cluster->pools[g.pool].gpu));
  }
  return out;
}

double Objective(const Goal& goal, const ModelSpec& model, const Plan& plan) {
  if (!plan.fits_memory) return std::numeric_limits<double>::infinity();
  return GoalValue(goal, static_cast<double>(model.iterations), plan.iter_time,
                   plan.price_per_hour);
}

Result<Goal> Goal::Parse(const std::string& text) {
  Goal g;
  std::string name = text.substr(0, text.find('=')),
              arg = text.find('=') == std::string::npos ? "" : text.substr(text.find('=') + 1);
  auto number = [&](double scale_h) -> Result<double> {
    if (arg.empty())
      return Error(ErrorCode::kInvalidArgument, "--goal {}: needs a value, e.g. {}=100", name,
                   name);
    char* end = nullptr;
    double v = std::strtod(arg.c_str(), &end);
    std::string unit = end ? std::string(end) : "";
    double scale = 1;
    if (scale_h > 0) {  // durations: s, m, h, d
      if (unit == "" || unit == "s")
        scale = 1;
      else if (unit == "m")
        scale = 60;
      else if (unit == "h")
        scale = 3600;
      else if (unit == "d")
        scale = 86400;
      else
        return Error(ErrorCode::kInvalidArgument, "--goal {}: unit '{}' is not s, m, h or d", name,
                     unit);
    } else if (!unit.empty()) {
      return Error(ErrorCode::kInvalidArgument, "--goal {}: '{}' is not a number of dollars", name,
                   arg);
    }
    if (!(v > 0)) return Error(ErrorCode::kInvalidArgument, "--goal {}: value must be > 0", name);
    return v * scale;
  };
  if (name == "throughput" || name == "time")
    g.kind = Kind::kThroughput;
  else if (name == "cost")
    g.kind = Kind::kMinCostPerIter;
  else if (name == "deadline") {
    g.kind = Kind::kMinCostDeadline;
    OPAL_ASSIGN_OR_RETURN(g.limit, number(1));
  } else if (name == "budget") {
    g.kind = Kind::kMinTimeBudget;
    OPAL_ASSIGN_OR_RETURN(g.limit, number(0));
  } else if (name == "hourly") {
    g.kind = Kind::kMinTimeHourlyCap;
    OPAL_ASSIGN_OR_RETURN(g.limit, number(0));
  } else
    return Error(ErrorCode::kInvalidArgument,
                 "--goal '{}': expected throughput, cost, deadline=36h, budget=USD or hourly=USD",
                 text);
  return g;
}

Result<MemoryCoefficients> LoadMemoryCoefficients(const std::string& path) {
  OPAL_ASSIGN_OR_RETURN(Json j, ReadJsonFile(path, "memory coefficients"));
  JsonReader r(j, path);
  MemoryCoefficients k;
  k.activation_scale = r.Positive("activation_scale");
  k.state_extra_bytes = r.OptNum("state_extra_bytes", 0);
  k.fitted_on = r.OptStr("fitted_on", "");
  OPAL_RETURN_IF_ERROR(r.status());
  if (k.state_extra_bytes < 0)
    return Error(ErrorCode::kInvalidModel, "{}: state_extra_bytes must be >= 0", path);
  if (j.contains("reserve_gb")) {
    if (!j["reserve_gb"].is_object())
      return Error(ErrorCode::kInvalidModel, "{}: reserve_gb must map GPU types to GB", path);
    for (const auto& [gpu, v] : j["reserve_gb"].items()) {
      if (!v.is_number() || v.get<double>() < 0)
        return Error(ErrorCode::kInvalidModel, "{}: reserve_gb of '{}' must be a number >= 0", path,
                     gpu);
      k.reserve[gpu] = v.get<double>() * 1e9;
    }
  }
  return k;
}

std::string Goal::Describe() const {
  switch (kind) {
    case Kind::kThroughput:
      return "fastest iteration";
    case Kind::kMinCostPerIter:
      return "cheapest iteration";
    case Kind::kMinCostDeadline:
      return fmt::format("cheapest job finishing within {:.1f} h", limit / 3600);
    case Kind::kMinTimeBudget:
      return fmt::format("fastest job costing at most ${:.0f}", limit);
    case Kind::kMinTimeHourlyCap:
      return fmt::format("fastest iteration at most ${:.2f}/hour", limit);
  }
  return "";
}

}  // namespace opal::plan
