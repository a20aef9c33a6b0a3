// Tuning tasks of a model: its unique tunable workloads, how often each occurs and what share of
// the model's tunable FLOPs each carries (the tuner spends its budget by that share).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "opal/graph.h"
#include "opal/json.h"
#include "opal/workload.h"

namespace opal {

struct Task {
  Workload workload;
  int count = 0;                   // nodes of the model computing this workload
  std::vector<std::string> nodes;  // their names, in graph order
  double flops = 0;                // one execution
  double total_flops = 0;          // count * flops
  double share = 0;                // total_flops / TaskList::total_flops
};

struct SkippedNode {
  std::string node;
  std::string op_type;
  std::string reason;
};

struct TaskList {
  std::vector<Task> tasks;  // by total_flops, largest first; ties by key
  double total_flops = 0;   // all tasks
  // Estimated FLOPs of the other operators (one per output element; reductions count inputs).
  double other_flops = 0;
  std::map<std::string, int> unsupported_ops;  // op type -> count (opal has no schema)
  std::map<std::string, int> other_ops;        // supported, not tunable: op type -> count
  std::vector<SkippedNode> skipped;            // tunable op type, but no workload (reason says why)

  // Stable document "opal.tasks/1" (docs/cli.md).
  Json ToJson() const;
};

// The workload a node computes, nullopt for ops that are not tunable (Relu, Reshape, ...).
// Errors (kUnsupported) for tunable op types in a form opal cannot tune (3-D conv, unknown shape,
// integer types), with the reason.
Result<std::optional<Workload>> WorkloadOfNode(const Graph& g, const Node& n);

TaskList ExtractTasks(const Graph& g);

}  // namespace opal
