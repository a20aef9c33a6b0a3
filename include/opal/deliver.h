// `opal deliver`: the whole path from an ONNX model to a measured deployable library.
//
//   tasks -> store lookup (this machine, then machines of the same kind) -> for workloads with no
//   record of this machine: tuning within the time budget (when > 0; a search starts from the
//   records of machines of the same kind), then in the build, for those still missing, a few candidates
//   measured here (the default, nearby workloads' best, the cost model's picks) -> build -> load
//   and benchmark the library -> compare with PyTorch on the same model (when available).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "opal/build.h"
#include "opal/progress.h"
#include "opal/status.h"

namespace opal {

struct DeliverOptions {
  BuildOptions build;        // build.store is required (the store of records)
  double budget_s = 0;       // tuning time for workloads with no record of this machine (0 = none)
  int bench_runs = 30;       // timed runs of the built library (after 3 warm-up runs)
  int threads = 0;           // kernel threads for the benchmark and PyTorch (0 = the host's cores)
  ProgressStyle progress = ProgressStyle::kAuto;  // of the tuning (opal/progress.h)
  // PyTorch peer: `/usr/bin/python3 SCRIPT MODEL --threads T --repeats N --json`; "" = none.
  std::string torch_peer_script;
};

struct DeliveredTask {
  std::string workload_key, summary;
  int count = 0;
  double share = 0;
  // "exact" / "coarse" (a record of this machine / of another of the same kind), "tuned" (in this
  // run's budget), "transferred" / "zero-shot" (measured here from nearby workloads' best / the cost
  // model's picks), "default", or "direct" (a fixed kernel that is not tuned, e.g. depthwise
  // convolutions)
  std::string source;
  double gflops = 0;   // of the chosen record (0 for the default schedule)
  double tune_s = 0;   // tuning spent on it in this run
};

struct LatencySummary {
  int runs = 0;
  double p50_ms = 0, p90_ms = 0, min_ms = 0;
};

struct DeliverReport {
  std::vector<DeliveredTask> tasks;
  BuildReport build;
  double tune_s = 0;
  int measure_per_workload = 0;  // build-time measurements allowed per uncovered workload
  LatencySummary opal;
  std::optional<LatencySummary> torch;  // absent when PyTorch was not run
  std::string torch_mode;               // how PyTorch ran the model, as the peer reports it
  std::string torch_error;              // why it did not run, when it was asked to
  Json ToJson() const;                  // "opal.deliver/1"
};

Result<DeliverReport> Deliver(const DeliverOptions& options);

}  // namespace opal
