// EstimatePlan, Objective and goals.
#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "opal/plan.h"
#include "plan/cost_terms.h"

namespace opal::plan {

int Plan::Gpus() const {
  int n = 0;
  for (const auto& s : stages) n += s.Gpus();
  return n;
}

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
    if (st.pool < 0 || st.pool >= static_cast<int>(cluster.pools.size()))
      return Error(ErrorCode::kInvalidArgument, "stage {}: no pool {}", s, st.pool);
    if (st.tp <= 0 || st.dp <= 0 || plan->micro_batch % st.dp != 0)
      return Error(ErrorCode::kInvalidArgument,
                   "stage {}: dp {} must divide the micro-batch {} (tp {})", s, st.dp,
                   plan->micro_batch, st.tp);
    if (st.tp > cluster.pools[st.pool].instance.gpus_per_node)
      return Error(ErrorCode::kInvalidArgument, "stage {}: tp {} exceeds the {} GPUs of a node", s,
                   st.tp, cluster.pools[st.pool].instance.gpus_per_node);
    used[st.pool] += st.Gpus();
    expect = st.end;
  }
  if (expect != L)
    return Error(ErrorCode::kInvalidArgument, "stages cover layers [0, {}) of {}", expect, L);
  for (size_t p = 0; p < used.size(); ++p)
    if (used[p] > cluster.pools[p].count)
      return Error(ErrorCode::kInvalidArgument, "plan uses {} GPUs of pool {} ({}), which has {}",
                   used[p], p, cluster.pools[p].gpu.name, cluster.pools[p].count);

  const int M = plan->num_micro;
  double sum_fb = 0, sum_p2p = 0, max_c = 0, max_tail = 0, price = 0;
  plan->fits_memory = true;
  for (int s = 0; s < S; ++s) {
    StagePlan& st = plan->stages[s];
    const Pool& pool = cluster.pools[st.pool];
    const int mbs = plan->micro_batch / st.dp;
    st.fwd = st.bwd = st.update = 0;
    double params = 0, act = 0, act_rep = 0;
    std::string src;
    for (int l = st.first; l < st.end; ++l) {
      auto t = LayerTimeOf(ctx, l, pool.gpu, mbs, st.tp);
      if (!t)
        return Error(ErrorCode::kUnsupported,
                     "no time for layer {} on {} (micro-batch {}, tp {}) from {}", l, pool.gpu.name,
                     mbs, st.tp, ctx.perf->Name());
      st.fwd += t->fwd;
      st.bwd += t->bwd;
      st.update += t->update;
      if (src.find(t->source) == std::string::npos)
        src += (src.empty() ? "" : "+") + std::string(t->source);
      const LayerSpec& ls = model.layers[l];
      params += ls.params;
      act += ls.act_bytes;
      act_rep += ls.act_replicated;
    }
    st.source = src;
    st.allreduce = AllReduceSeconds(pool, st.tp, st.dp, params, ctx.options.grad_bytes);
    st.p2p_out = s + 1 < S ? P2pSeconds(model.layers[st.end - 1].out_bytes, plan->micro_batch, pool,
                                        st.tp, st.dp, cluster.pools[plan->stages[s + 1].pool],
                                        plan->stages[s + 1].tp, plan->stages[s + 1].dp,
                                        ctx.options.p2p_split_by_tp)
                           : 0;
    st.memory =
        StageMemory(params, act, act_rep, model.layers[st.end - 1].out_bytes, st.tp, mbs,
                    InFlight(M, S - s), model.state_bytes_per_param, ctx.options.reserve_bytes);
    if (st.memory > pool.gpu.memory) plan->fits_memory = false;
    price += st.Gpus() * pool.PricePerGpuHour();
  }
  for (int s = 0; s < S; ++s) {
    StagePlan& st = plan->stages[s];
    double p2p_in = s > 0 ? plan->stages[s - 1].p2p_out : 0;
    st.busy = st.fwd + st.bwd + 2 * (p2p_in + st.p2p_out);
    sum_fb += st.fwd + st.bwd;
    sum_p2p += st.p2p_out;
    max_c = std::max(max_c, st.busy);
    max_tail = std::max(max_tail, st.allreduce + st.update);
  }
  plan->iter_time = sum_fb + 2 * sum_p2p + (M - 1) * max_c + max_tail;
  plan->price_per_hour = price;
  return Status::Ok();
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
