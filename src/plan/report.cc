// Text and JSON reports of the planner.
#include <fmt/format.h>

#include <cmath>

#include "opal/plan_report.h"

namespace opal::plan {
namespace {

std::string Duration(double s) {
  if (s < 120) return fmt::format("{:.2f} s", s);
  if (s < 7200) return fmt::format("{:.1f} min", s / 60);
  if (s < 2 * 86400) return fmt::format("{:.1f} h", s / 3600);
  return fmt::format("{:.1f} days", s / 86400);
}

std::string PlanShape(const Cluster& c, const Plan& p) {
  std::string s;
  for (const auto& st : p.stages) {
    s += fmt::format("{}[{}-{}] ", s.empty() ? "" : " | ", st.first, st.end - 1);
    std::string groups;
    for (const auto& g : st.Groups(p.micro_batch))
      groups += fmt::format("{}{}x{} tp{}dp{}", groups.empty() ? "" : " + ", g.tp * g.count,
                            c.pools[g.pool].gpu.name, g.tp, g.count);
    s += groups;
  }
  return s;
}

double StagePrice(const Cluster& c, const StagePlan& st, int micro_batch) {
  double price = 0;
  for (const auto& g : st.Groups(micro_batch))
    price += g.tp * g.count * c.pools[g.pool].PricePerGpuHour();
  return price;
}

}  // namespace

Json StageTimesJson(const StagePlan& st) {
  return {{"layers", {st.first, st.end}},
          {"fwd_s", st.fwd},
          {"bwd_s", st.bwd},
          {"update_s", st.update},
          {"allreduce_s", st.allreduce},
          {"tied_allreduce_s", st.tied_allreduce},
          {"p2p_out_s", st.p2p_out}};
}

Json PlanToJson(const PlanContext& ctx, const Plan& p) {
  Json stages = Json::array();
  for (const auto& st : p.stages) {
    const Pool& pool = ctx.cluster->pools[st.pool];
    Json stage = StageTimesJson(st);
    stage.update({{"gpu", pool.gpu.name},
                  {"instance", pool.instance.name},
                  {"gpus", st.Gpus()},
                  {"tp", st.tp},
                  {"dp", st.dp},
                  {"micro_batch_per_replica", st.Groups(p.micro_batch)[0].samples},
                  {"busy_per_micro_batch_s", st.busy},
                  {"memory_bytes", st.memory},
                  {"memory_capacity_bytes", pool.gpu.memory},
                  {"price_per_hour", StagePrice(*ctx.cluster, st, p.micro_batch)},
                  {"time_source", st.source}});
    stages.push_back(std::move(stage));
    if (!st.mixed.empty()) {
      Json groups = Json::array();
      for (const auto& g : st.Groups(p.micro_batch))
        groups.push_back({{"gpu", ctx.cluster->pools[g.pool].gpu.name},
                          {"tp", g.tp},
                          {"replicas", g.count},
                          {"micro_batch_per_replica", g.samples}});
      stages.back()["replica_groups"] = groups;
    }
  }
  Json j{{"stages", stages},
         {"micro_batch", p.micro_batch},
         {"num_micro_batches", p.num_micro},
         {"gpus", p.Gpus()},
         {"iteration_s", p.iter_time},
         {"price_per_hour", p.price_per_hour},
         {"cost_per_iteration", p.CostPerIter()},
         {"fits_memory", p.fits_memory}};
  if (ctx.model->iterations > 0) {
    j["job_s"] = p.iter_time * static_cast<double>(ctx.model->iterations);
    j["job_cost"] = p.CostPerIter() * static_cast<double>(ctx.model->iterations);
  }
  return j;
}

Gain GainOverHomogeneous(const ModelSpec& model, const PlanReport& r) {
  Gain g;
  double best = INFINITY;
  for (size_t i = 0; i < r.homogeneous.size(); ++i)
    if (r.homogeneous[i].found && r.homogeneous[i].objective < best) {
      best = r.homogeneous[i].objective;
      g.pool = static_cast<int>(i);
    }
  if (g.pool < 0 || !r.best.found) return g;
  const Plan& h = r.homogeneous[g.pool].best;
  g.speedup = h.iter_time / r.best.best.iter_time;
  g.cost_ratio = h.CostPerIter() / r.best.best.CostPerIter();
  return g;
}

std::string ReportText(const PlanContext& ctx, const PlanReport& r) {
  const ModelSpec& m = *ctx.model;
  const Cluster& c = *ctx.cluster;
  std::string out =
      fmt::format("model    {}: {} layers, {:.2f} B parameters, global batch {}, sequence {}\n",
                  m.name, m.layers.size(), m.TotalParams() / 1e9, m.global_batch, m.seq_len);
  out += "cluster ";
  for (const auto& p : c.pools)
    out += fmt::format(" {} x {} ({}, ${:.2f}/GPU-h, {});", p.count, p.gpu.name, p.instance.name,
                       p.PricePerGpuHour(), p.instance.price_date);
  out += fmt::format("\nsource   layer times from {}\ngoal     {}\n\n", ctx.perf->Name(),
                     r.goal.Describe());
  if (!r.best.found) return out + "no plan fits memory and the goal\n";
  const Plan& p = r.best.best;
  out += fmt::format("best plan: {} per iteration, {} GPUs, ${:.2f}/hour, ${:.4f}/iteration",
                     Duration(p.iter_time), p.Gpus(), p.price_per_hour, p.CostPerIter());
  if (m.iterations > 0)
    out += fmt::format("; job of {} iterations: {}, ${:.0f}", m.iterations,
                       Duration(p.iter_time * m.iterations), p.CostPerIter() * m.iterations);
  out += fmt::format("\n{} micro-batches of {} sequences per iteration (1F1B)\n", p.num_micro,
                     p.micro_batch);
  out += fmt::format(
      "{:>5}  {:>7}  {:<10} {:>5} {:>3} {:>4} {:>4}  {:>10} {:>9} {:>9} {:>12} {:>8}  {}\n",
      "stage", "layers", "GPU", "count", "tp", "dp", "mbs", "busy/mb", "allreduce", "p2p",
      "memory/GPU", "$/hour", "source");
  for (size_t s = 0; s < p.stages.size(); ++s) {
    const auto& st = p.stages[s];
    bool first = true;
    for (const auto& g : st.Groups(p.micro_batch)) {  // one line per replica group
      const Pool& pool = c.pools[g.pool];
      if (first)
        out += fmt::format(
            "{:>5}  {:>3}-{:<3}  {:<10} {:>5} {:>3} {:>4} {:>4}  {:>8.1f}ms {:>7.1f}ms {:>7.2f}ms "
            "{:>5.1f}/{:<3.0f}GB {:>8.2f}  {}\n",
            s, st.first, st.end - 1, pool.gpu.name, g.tp * g.count, g.tp, g.count, g.samples,
            st.busy * 1e3, (st.allreduce + st.tied_allreduce) * 1e3, st.p2p_out * 1e3,
            st.memory / 1e9, pool.gpu.memory / 1e9, StagePrice(c, st, p.micro_batch), st.source);
      else
        out += fmt::format("{:>5}  {:>7}  {:<10} {:>5} {:>3} {:>4} {:>4}\n", "", "+", pool.gpu.name,
                           g.tp * g.count, g.tp, g.count, g.samples);
      first = false;
    }
  }
  out += "\nbest homogeneous plan per GPU type (same goal):\n";
  out += fmt::format("  {:<10} {:>5} {:>10} {:>9} {:>11}  {}\n", "GPU", "GPUs", "s/iter", "$/hour",
                     "$/iter", "plan");
  for (size_t i = 0; i < r.homogeneous.size(); ++i) {
    const auto& h = r.homogeneous[i];
    if (!h.found) {
      out += fmt::format("  {:<10} no plan fits memory and the goal\n", c.pools[i].gpu.name);
      continue;
    }
    out += fmt::format("  {:<10} {:>5} {:>10.3f} {:>9.2f} {:>11.4f}  {}\n", c.pools[i].gpu.name,
                       h.best.Gpus(), h.best.iter_time, h.best.price_per_hour, h.best.CostPerIter(),
                       PlanShape(c, h.best));
  }
  Gain g = GainOverHomogeneous(m, r);
  if (g.pool >= 0)
    out += fmt::format(
        "gain over the best homogeneous plan ({}): {:.2f}x faster per iteration, {:.2f}x cheaper "
        "per iteration\n",
        c.pools[g.pool].gpu.name, g.speedup, g.cost_ratio);
  else
    out += "gain: no homogeneous plan is feasible; only a mixed plan is\n";
  out += "\ntime/cost Pareto front:\n";
  for (const auto& q : r.pareto)
    out += fmt::format("  {:>9.3f} s/iter  ${:>9.4f}/iter  ${:>8.2f}/hour  {}\n", q.iter_time,
                       q.CostPerIter(), q.price_per_hour, PlanShape(c, q));
  out += fmt::format(
      "\nsearch: {:.2f} s in all ({} stage choices for the best plan, {} pruned); {}\n", r.seconds,
      r.best.stats.nodes, r.best.stats.pruned,
      r.best.stats.complete
          ? "the best plan is the proven optimum of the search space"
          : fmt::format("time limit reached: the best plan is within {:.2f}x of the optimum",
                        r.best.objective / r.best.stats.lower_bound));
  return out;
}

Json ReportJson(const PlanContext& ctx, const PlanReport& r) {
  Json j{{"format", "opal.plan/1"},
         {"model", ctx.model->name},
         {"goal", r.goal.Describe()},
         {"time_sources", ctx.perf->Name()},
         {"search_s", r.seconds},
         {"found", r.best.found},
         {"proven_optimal", r.best.stats.complete},
         {"lower_bound", r.best.stats.lower_bound}};
  if (r.best.found) j["best"] = PlanToJson(ctx, r.best.best);
  Json homo = Json::array();
  for (size_t i = 0; i < r.homogeneous.size(); ++i) {
    Json h{{"gpu", ctx.cluster->pools[i].gpu.name}, {"found", r.homogeneous[i].found}};
    if (r.homogeneous[i].found) h["plan"] = PlanToJson(ctx, r.homogeneous[i].best);
    homo.push_back(h);
  }
  j["homogeneous"] = homo;
  Gain g = GainOverHomogeneous(*ctx.model, r);
  if (g.pool >= 0)
    j["gain"] = {{"baseline_gpu", ctx.cluster->pools[g.pool].gpu.name},
                 {"speedup", g.speedup},
                 {"cost_ratio", g.cost_ratio}};
  Json front = Json::array();
  for (const auto& p : r.pareto) front.push_back(PlanToJson(ctx, p));
  j["pareto"] = front;
  return j;
}

}  // namespace opal::plan
