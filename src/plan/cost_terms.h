// The terms of the planner's cost model, shared by EstimatePlan (plan by plan) and the search
// (incrementally, from prefix sums) so both score a plan identically.
#pragma once

#include <algorithm>
#include <optional>

#include "opal/plan.h"

namespace opal::plan {

// Link used by a stage's replicas: inside one node when all d*t GPUs fit in it.
inline LinkCurve ReplicaLink(const Pool& p, int tp, int dp) {
  return tp * dp <= p.instance.gpus_per_node ? p.gpu.intra : p.InterLink();
}

// Ring all-reduce of a stage's gradient shard (params / tp elements) across dp replicas.
inline double AllReduceSeconds(const Pool& p, int tp, int dp, double params, double grad_bytes) {
  if (dp <= 1 || params <= 0) return 0;
  double bytes = params / tp * grad_bytes;
  return 2.0 * (dp - 1) / dp * ReplicaLink(p, tp, dp).Seconds(bytes);
}

// One micro-batch's activation (or gradient) between consecutive stages: each link carries
// the samples of the side with fewer replicas over the slower of the two pools' networks; every
// tensor-parallel rank sends the whole activation (DeepSpeed's pipeline engine), or its 1/tp
// slice with `split_by_tp` (Megatron-LM's scatter/gather).
inline double P2pSeconds(double out_bytes_per_sample, int micro_batch, const Pool& a, int tp_a,
                         int dp_a, const Pool& b, int tp_b, int dp_b, bool split_by_tp) {
  double bytes = out_bytes_per_sample * micro_batch / std::min(dp_a, dp_b);
  if (split_by_tp) bytes /= std::min(tp_a, tp_b);
  if (bytes <= 0) return 0;
  return std::max(a.InterLink().Seconds(bytes), b.InterLink().Seconds(bytes));
}

// Bytes per GPU of a stage: model state of its shard, activations of `inflight` micro-batches
// of `mbs` samples, send/receive buffers, and the fixed reserve.
inline double StageMemory(double params, double act_sharded, double act_replicated,
                          double out_bytes, int tp, int mbs, int inflight,
                          double state_bytes_per_param, double reserve) {
  return params / tp * state_bytes_per_param +
         inflight * static_cast<double>(mbs) * (act_sharded / tp + act_replicated) +
         2.0 * mbs * out_bytes + reserve;
}

// A layer's time from the context's sources, with recomputation applied.
inline std::optional<LayerTime> LayerTimeOf(const PlanContext& ctx, int layer, const GpuType& gpu,
                                            int mbs, int tp) {
  auto t = ctx.perf->Time(*ctx.model, layer, gpu, mbs, tp);
  if (t && ctx.model->recompute) t->bwd += t->fwd;
  return t;
}

inline int InFlight(int num_micro, int stages_after_and_self) {
  return std::min(num_micro, stages_after_and_self);
}

}  // namespace opal::plan

namespace opal::plan {

// The goal's value of a plan with iteration time T and price (USD/hour): smaller is better,
// +infinity when the goal's constraint is broken. Monotone in T and in price.
inline double GoalValue(const Goal& goal, double iterations, double T, double price) {
  const double inf = 1.0 / 0.0;
  const double cost_iter = T * price / 3600;
  switch (goal.kind) {
    case Goal::Kind::kThroughput:
      return T;
    case Goal::Kind::kMinCostPerIter:
      return cost_iter;
    case Goal::Kind::kMinCostDeadline:
      return iterations * T <= goal.limit ? cost_iter : inf;
    case Goal::Kind::kMinTimeBudget:
      return iterations * cost_iter <= goal.limit ? T : inf;
    case Goal::Kind::kMinTimeHourlyCap:
      return price <= goal.limit ? T : inf;
  }
  return inf;
}

}  // namespace opal::plan
