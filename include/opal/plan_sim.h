// Event-level simulation of one training iteration of a plan, and replay of plans written in
// Sailor's validation format.
//
// The simulator runs the 1F1B schedule stage by stage: each stage does min(S - s - 1, M) warm-up
// forwards, then alternates one forward and one backward, then drains its backwards. A forward
// of micro-batch j on stage s starts when the stage is free and the activation of j has arrived
// from stage s-1; sends and receives are blocking (the stage is busy while its data moves), as in
// DeepSpeed's pipeline engine. After its last backward a stage sums the gradients of the tied
// parameters with its partner (first and last stage, once both are done), all-reduces its
// gradients across replicas and steps the optimizer. Deterministic; thread-safe.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "opal/plan.h"

namespace opal::plan {

struct SimEvent {
  int stage = 0, micro = 0;
  enum class Kind { kForward, kBackward, kSend, kAllReduce, kUpdate } kind = Kind::kForward;
  double start = 0, end = 0;  // seconds from the start of the iteration
};

struct SimResult {
  double iter_time = 0;
  std::vector<SimEvent> events;  // every compute/communication interval, by stage
};

// Precondition: EstimatePlan succeeded on `plan` (its stage times are used).
SimResult SimulateIteration(const Plan& plan);

// A plan from Sailor's validation format: pipeline_list[0] with layers_per_stage, tmp_per_stage
// [stage][replica] = [[[gpu, gpus_per_node, zone]], tp] (a stage's replicas may name different
// GPU types: heterogeneous data parallelism) and dp per stage (its replica count); mbs (samples
// per replica and micro-batch), gbs, and the measurements, each optional: real (iteration
// seconds), max_mem (peak bytes on a GPU), red_grads (seconds of the gradient reduction, barrier
// included).
struct SailorPlan {
  std::string path;
  std::string gpu;  // the GPU types named, "A+B" when several
  Plan plan;
  double measured = 0;         // "real", seconds (0: absent, a plan to predict only)
  double measured_memory = 0;  // "max_mem", bytes (0: absent)
  double measured_reduce = 0;  // "red_grads", seconds (0: absent)
  // GPUs per node of the nodes the file names, by GPU type (the last entry of each type).
  std::map<std::string, int> gpus_per_node;
};
// Each GPU type the file names must be a pool of `cluster` (names compared without case, '-',
// '_' and spaces: "RTX3090" is RTX-3090). A node entry [gpu, n, zone] is a node of n GPUs: when
// the cluster has no pool of that GPU type with n GPUs per node, a copy of the type's pool with
// that node size is added to *cluster (so one file may use nodes of several sizes). A replica
// listing several nodes is read as one node of all their GPUs (with a warning); `dp` may be
// absent (the listed replicas count) and stages may list different replica counts: the
// micro-batch is then mbs x the largest count, split evenly among each stage's replicas.
// kInvalidModel for malformed files, kInvalidArgument for a GPU not in the cluster,
// kUnsupported for several pipelines, a replica on two GPU types or a micro-batch a stage's
// replicas cannot split evenly.
Result<SailorPlan> LoadSailorPlan(const std::string& path, Cluster* cluster);

// Replays every *.json under `dir` (recursively): estimate + simulate each; per-plan rows with
// the time and memory predictions against the measurements, and the mean absolute percentage
// errors. Plans the model cannot take (another layer count) are listed with their error and
// left out of the MAPEs.
struct ReplayRow {
  std::string path;
  double measured = 0, estimated = 0, simulated = 0;
  // Bytes on the fullest GPU (measured 0: absent); the prediction no more than a GPU's capacity
  // (memory_capped: the model asked for more than the GPU has).
  double measured_memory = 0, memory = 0;
  bool memory_capped = false;
  double measured_reduce = 0;  // red_grads, seconds (0: absent)
  double reduce = 0;           // predicted tail of the slowest stage: tied + gradient all-reduce
  std::vector<MemoryParts> memory_parts;  // every GPU group's memory parts (for calibration)
  PipelineTerms terms;                    // the estimate split into the schedule's terms
  std::vector<StagePlan> stages;          // the estimated stages (layer and transfer times)
  std::string gpu;
  std::string source;
  std::string error;  // why the plan could not be replayed with this model (rows are kept)
};
struct ReplayReport {
  std::vector<ReplayRow> rows;
  int replayed = 0;  // rows without error
  int timed = 0;     // replayed rows with a measured time; the time MAPEs are over these
  double mape_simulated = 0, mape_estimated = 0;
  int memory_rows = 0;  // replayed rows with a measured peak; the memory MAPE is over these
  double mape_memory = 0;
};
Result<ReplayReport> ReplaySailorDir(const std::string& dir, const PlanContext& ctx);

}  // namespace opal::plan
