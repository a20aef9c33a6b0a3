// A training plan and its cost model.
//
// A plan cuts the model's layers into pipeline stages. Stage s holds layers [first, end) and runs
// on replicas (data parallelism) of tp GPUs each (tensor parallelism, within a node): dp replicas
// on one pool, or replica groups on several pools (heterogeneous data parallelism). All stages
// work on the same global micro-batch of `micro_batch` samples, split between a stage's replicas
// (evenly, or by group when the replicas differ); an iteration runs global_batch / micro_batch
// micro-batches with the 1F1B schedule.
//
// Estimated iteration time (what the search minimises; the simulator checks it event by event;
// every term is a function of src/plan/iteration_terms.h):
//   c_s  = F_s + B_s + 2 (p2p_in + p2p_out)        per micro-batch; F, B of the slowest replica
//   T    = sum_s (F_s + B_s) + 2 sum_links p2p + (M - 1) max_s c_s + max_s tail_s
//   tail_s = tied-embedding all-reduce (first/last stage) + gradient all-reduce + optimizer step
// Memory per GPU: reserve of the GPU type + model state of the stage's shard + activations of the
// micro-batches in flight under 1F1B (min(M, S - s) on stage s; the head's fp32 logits exactly,
// the rest scaled by the fitted activation scale) + send/receive buffers.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "opal/json.h"
#include "opal/plan_catalog.h"
#include "opal/plan_model.h"
#include "opal/plan_perf.h"

namespace opal::plan {

// `count` replicas of a stage, each `tp` GPUs of one node of pool `pool`.
struct ReplicaGroup {
  int pool = 0, tp = 1, count = 1;
  // Samples of each micro-batch that one replica of the group takes; 0: an even share of the
  // micro-batch over all replicas of the stage.
  int samples = 0;
};

struct StagePlan {
  int first = 0, end = 0;  // layers [first, end)
  // The stage's replicas when `mixed` is empty: dp replicas of tp GPUs of pool `pool`.
  int pool = 0;  // index into Cluster::pools
  int tp = 1, dp = 1;
  // Replicas on several pools or tensor-parallel degrees. When not empty it lists all the
  // stage's replicas; pool and tp are then those of its first group and dp the total count.
  std::vector<ReplicaGroup> mixed;
  // Filled by EstimatePlan (seconds per micro-batch, bytes per GPU):
  double fwd = 0, bwd = 0, update = 0, allreduce = 0, tied_allreduce = 0, p2p_out = 0, busy = 0,
         memory = 0;
  std::string source;  // where the layer times came from ("profile", "roofline", mixed "a+b")
  int Gpus() const;
  // The replica groups (one when not mixed) with `samples` filled for a micro-batch of
  // `micro_batch` samples (even shares round down: EstimatePlan rejects what does not divide).
  std::vector<ReplicaGroup> Groups(int micro_batch) const;
};

// A plan's iteration time split into the terms of the 1F1B schedule (src/plan/iteration_terms.h):
// T = fill_layers + fill_p2p + steady + tail.
struct PipelineTerms {
  double fill_layers = 0;  // sum over stages of one micro-batch's forward + backward
  double fill_p2p = 0;     // 2 x sum over stage boundaries of one transfer
  double steady = 0;       // (M - 1) x the largest stage cycle c_s = F_s + B_s + 2 (p_in + p_out)
  double steady_p2p = 0;   // the part of `steady` that is the bottleneck stage's transfers
  double tail = 0;         // the slowest stage's tied + gradient all-reduce + optimizer step
  int bottleneck = 0;      // the stage with the largest cycle (the first of equals)
  double Total() const { return fill_layers + fill_p2p + steady + tail; }
};

struct Plan {
  std::vector<StagePlan> stages;
  int micro_batch = 1;  // samples per global micro-batch
  int num_micro = 1;    // micro-batches per iteration
  // Filled by EstimatePlan:
  double iter_time = 0;       // seconds
  double price_per_hour = 0;  // USD for all GPUs of the plan
  bool fits_memory = true;
  double peak_memory = 0;  // bytes on the fullest GPU
  PipelineTerms terms;     // iter_time split into the schedule's terms
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

// Free coefficients of the memory model, fitted on measured peaks by `opal plan
// --calibrate-memory` (data/catalog/memory.json); the defaults are the unfitted model.
struct MemoryCoefficients {
  double activation_scale = 1;   // multiplies the activation estimate (Korthikanti et al.)
  double state_extra_bytes = 0;  // per parameter beyond the optimizer state (gradient buckets)
  std::map<std::string, double> reserve;  // bytes per GPU of a GPU type beyond the model
  std::string fitted_on;                  // what they were fitted on ("" = defaults)
};

// One GPU of a plan (a stage's replica group) with its memory split into the model's parts,
// before the free coefficients are applied (see StageMemoryBytes in src/plan/iteration_terms.h).
struct MemoryParts {
  std::string gpu;            // GPU type: which reserve applies
  double capacity = 0;        // its memory, bytes
  double state = 0;           // params / tp x optimizer-state bytes per parameter
  double params_per_gpu = 0;  // params / tp (for MemoryCoefficients::state_extra_bytes)
  double activations = 0;     // activation bytes of the micro-batches in flight (unscaled)
  double exact = 0;           // bytes of the micro-batches in flight kept exactly (logits)
  double buffers = 0;         // send/receive buffers of one micro-batch
};

// Machine and framework constants of the cost model.
struct CostOptions {
  // Bytes per GPU beyond the model (CUDA context, library kernels and workspaces, communicator
  // buffers) for GPU types without a fitted reserve.
  double reserve_bytes = 3.0 * (1 << 30);
  // Stage-to-stage sends split over the tensor-parallel ranks sending at once (Megatron-LM)
  // instead of the activation's slices one after another (DeepSpeed's pipeline engine as Sailor
  // runs it, which its measurements use).
  bool p2p_split_by_tp = false;
  // Gradient all-reduce reduced inside each node before crossing the network (instead of
  // NCCL's ring over all replicas).
  bool hierarchical_allreduce = false;
  MemoryCoefficients memory;
  // The reserve of a GPU type: fitted, else reserve_bytes.
  double Reserve(const std::string& gpu) const;
};

// Reads memory coefficients ({"activation_scale": x, "state_extra_bytes": y, "reserve_gb":
// {"GH-96": z}, "fitted_on": "..."}). kNotFound / kInvalidModel.
Result<MemoryCoefficients> LoadMemoryCoefficients(const std::string& path);

// Everything the cost model needs, bundled (borrowed pointers; must outlive the context).
struct PlanContext {
  const ModelSpec* model = nullptr;
  const Cluster* cluster = nullptr;
  const PerfSource* perf = nullptr;
  CostOptions options;
};

// Fills the derived fields of `plan` (stage times, memory, iteration time, price).
// kInvalidArgument when the plan is malformed (layers not covered once in order, a pool index or
// degree out of range, a stage's replicas not taking the micro-batch exactly (micro_batch not
// divisible by dp, or mixed groups' samples not summing to it), more GPUs than a pool has),
// kUnsupported when no source has a time for some layer.
Status EstimatePlan(const PlanContext& ctx, Plan* plan);

// The memory parts of every GPU group of an estimated plan, stage by stage.
std::vector<MemoryParts> PlanMemoryParts(const PlanContext& ctx, const Plan& plan);

// Objective value under `goal` (smaller is better), or +infinity when the plan breaks the goal's
// constraint or does not fit in memory. Plans must have been estimated.
double Objective(const Goal& goal, const ModelSpec& model, const Plan& plan);

Json PlanToJson(const PlanContext& ctx, const Plan& plan);

}  // namespace opal::plan
