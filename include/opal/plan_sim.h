// Event-level simulation of one training iteration of a plan, and replay of plans written in
// Sailor's validation format.
//
// The simulator runs the 1F1B schedule stage by stage: each stage does min(S - s - 1, M) warm-up
// forwards, then alternates one forward and one backward, then drains its backwards. A forward
// of micro-batch j on stage s starts when the stage is free and the activation of j has arrived
// from stage s-1; sends and receives are blocking (the stage is busy while its data moves), as in
// DeepSpeed's pipeline engine. After its last backward a stage all-reduces its gradients across
// replicas and steps the optimizer. Deterministic; thread-safe (no shared state).
#pragma once

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

// A plan from Sailor's validation format (pipeline_list[0]: layers_per_stage, tmp_per_stage
// [stage][replica] = [[[gpu, gpus_per_node, zone]], tp], dp per stage; mbs; gbs; real).
struct SailorPlan {
  std::string path;
  std::string gpu;
  Plan plan;
  double measured = 0;  // the "real" iteration time, seconds
};
// `pool_of_gpu` maps the file's GPU names to pool indices of the cluster used to estimate it.
// kInvalidModel for malformed files, kInvalidArgument for a GPU not in the cluster.
Result<SailorPlan> LoadSailorPlan(const std::string& path, const Cluster& cluster);

// Replays every *.json under `dir` (recursively): estimate + simulate each; per-plan rows and
// the mean absolute percentage error of the simulated time against the measured one. Plans the
// model cannot take (another layer count) are listed with their error and left out of the MAPE.
struct ReplayRow {
  std::string path;
  double measured = 0, estimated = 0, simulated = 0;
  std::string source;
  std::string error;  // why the plan could not be replayed with this model (rows are kept)
};
struct ReplayReport {
  std::vector<ReplayRow> rows;
  int replayed = 0;  // rows without error; the MAPEs are over these
  double mape_simulated = 0, mape_estimated = 0;
};
Result<ReplayReport> ReplaySailorDir(const std::string& dir, const PlanContext& ctx);

}  // namespace opal::plan
