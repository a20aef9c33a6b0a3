// A training plan and its cost model.
//
// A plan cuts the model's layers into pipeline stages. Stage s holds layers [first, end), runs on
// dp x tp GPUs of one pool (tp within a node), and all stages work on the same global
// micro-batch of `micro_batch` samples (each of a stage's dp replicas takes micro_batch / dp of
// them); an iteration runs global_batch / micro_batch micro-batches with the 1F1B schedule.
//
// Estimated iteration time (what the search minimises; the simulator checks it event by event):
//   c_s  = F_s + B_s + blocking sends/receives of stage s            per micro-batch
//   T    = sum_s (F_s + B_s) + 2 sum_links p2p + (M - 1) max_s c_s + max_s (AR_s + U_s)
// with AR_s the gradient all-reduce across the stage's replicas and U_s its optimizer step.
// Memory per GPU: weights, gradients and optimizer state of the stage's shard, plus activations
// of the micro-batches in flight under 1F1B (min(M, S - s) on stage s), plus a fixed reserve.
#pragma once

#include <string>
#include <vector>

#include "opal/json.h"
#include "opal/plan_catalog.h"
#include "opal/plan_model.h"
#include "opal/plan_perf.h"

namespace opal::plan {

struct StagePlan {
  int first = 0, end = 0;  // layers [first, end)
  int pool = 0;            // index into Cluster::pools
  int tp = 1, dp = 1;
  // Filled by EstimatePlan (seconds per micro-batch, bytes per GPU):
  double fwd = 0, bwd = 0, update = 0, allreduce = 0, p2p_out = 0, busy = 0, memory = 0;
  std::string source;  // where the layer times came from ("profile", "roofline", mixed "a+b")
  int Gpus() const { return tp * dp; }
};

struct Plan {
  std::vector<StagePlan> stages;
  int micro_batch = 1;  // samples per global micro-batch
  int num_micro = 1;    // micro-batches per iteration
  // Filled by EstimatePlan:
  double iter_time = 0;       // seconds
  double price_per_hour = 0;  // USD for all GPUs of the plan
  bool fits_memory = true;
  int Gpus() const;
  double CostPerIter() const { return iter_time * price_per_hour / 3600; }
};

// What the job is after. Deadline/budget are for the whole job (model.iterations).
struct Goal {
  enum class Kind {
    kThroughput,
    kMinCostPerIter,
    kMinCostDeadline,
    kMinTimeBudget,
    kMinTimeHourlyCap
  };
  Kind kind = Kind::kThroughput;
  double limit = 0;  // seconds (deadline), USD (budget) or USD/hour (cap)
  // Parses "throughput", "cost", "deadline=36h", "budget=50000", "hourly=300".
  static Result<Goal> Parse(const std::string& text);
  std::string Describe() const;
};

// Machine and framework constants of the cost model.
struct CostOptions {
  double reserve_bytes = 3.0 * (1 << 30);  // CUDA context, allocator slack, framework buffers
  double grad_bytes = 2;                   // bytes per gradient element all-reduced
  // Stage-to-stage sends split over the tensor-parallel ranks (Megatron-LM) instead of each rank
  // sending the whole activation (DeepSpeed's pipeline engine, which Sailor's measurements use).
  bool p2p_split_by_tp = false;
};

// Everything the cost model needs, bundled (borrowed pointers; must outlive the context).
struct PlanContext {
  const ModelSpec* model = nullptr;
  const Cluster* cluster = nullptr;
  const PerfSource* perf = nullptr;
  CostOptions options;
};

// Fills the derived fields of `plan` (stage times, memory, iteration time, price).
// kInvalidArgument when the plan is malformed (layers not covered once in order, a pool index or
// degree out of range, micro_batch not divisible by a stage's dp, more GPUs than a pool has),
// kUnsupported when no source has a time for some layer.
Status EstimatePlan(const PlanContext& ctx, Plan* plan);

// Objective value under `goal` (smaller is better), or +infinity when the plan breaks the goal's
// constraint or does not fit in memory. Plans must have been estimated.
double Objective(const Goal& goal, const ModelSpec& model, const Plan& plan);

Json PlanToJson(const PlanContext& ctx, const Plan& plan);

}  // namespace opal::plan
