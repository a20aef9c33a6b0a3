// The pull-based tuning worker: takes tasks its target can serve from the queue in the store,
// tunes each under a lease it renews in the background, writes every trial as it finishes, and
// marks the task done. See include/opal/task_queue.h for the lease rules.
#pragma once

#include <atomic>
#include <string>

#include "opal/status.h"
#include "opal/target.h"

namespace opal::dist {

struct WorkerOptions {
  std::string store_dsn;
  std::string worker_id;       // "" = HOST-PID
  Target target;               // the device this worker measures on (normally the host)
  std::string framework = "halide";
  bool exit_when_idle = false; // stop when no task is available instead of polling
  int max_tasks = 0;           // stop after this many tasks; 0 = no limit
  double lease_s = 60;         // lease length; renewed every lease_s / 3
  double poll_s = 2;           // wait between polls when idle
  // Set (e.g. from a SIGTERM handler) to finish the trial in flight, give the task back, exit.
  const std::atomic<bool>* stop = nullptr;
};

struct WorkerStats {
  int tasks_done = 0;
  int tasks_failed = 0;
  int64_t trials = 0;
  std::string stop_reason;  // "idle", "max tasks", "stopped"
};

// Runs until idle (with exit_when_idle), max_tasks, or stop. Errors: the store's (kUnavailable
// when it stays unreachable), kInvalidArgument for a bad framework.
Result<WorkerStats> RunWorker(const WorkerOptions& options);

// HOST-PID.
std::string DefaultWorkerId();

}  // namespace opal::dist
