// The pull-based tuning worker: takes tasks its target can serve from the queue in the store,
// tunes each under a lease it renews in the background, writes every trial as it finishes, and
// marks the task done. See include/opal/task_queue.h for the lease rules.
//
// Failures and what they cost the task:
//  - the tuning of the task fails (bad workload, every candidate broken ...): Fail, one attempt;
//  - the database cannot be reached even after the store's retries (60 s by default, see
//    docs/store.md): the task is released if possible, nothing is spent, and RunWorker returns
//    kUnavailable (the launcher starts a new worker after a back-off);
//  - the worker is killed or stalls: its lease expires and another worker takes the task over,
//    counting one lost holder (TaskQueue::Acquire).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "opal/status.h"
#include "opal/target.h"

namespace opal {
class TuningFramework;
}

namespace opal::dist {

// What a worker did with one task, for observers (benchmarks, tests).
struct WorkerEvent {
  enum Kind { kAcquired, kCompleted, kFailed, kReleased, kLost } kind;
  int64_t task_id = 0;
  double queue_s = 0;   // how long the queue call (Acquire, Complete, Fail, Release) took
  int64_t time_us = 0;  // when it returned (NowMicros)
};

struct WorkerOptions {
  std::string store_dsn;
  std::string worker_id;  // "" = HOST-PID
  Target target;          // the device this worker measures on (normally the host)
  std::string framework = "halide";
  // For benchmarks and tests: this framework object instead of `framework` by name.
  std::shared_ptr<TuningFramework> framework_impl;
  // Exit when nothing is left for this worker: no pending task and no running one whose holder
  // might still die (TaskQueue::Unfinished == 0); until then it polls every poll_s.
  bool exit_when_idle = false;
  int max_tasks = 0;    // stop after this many tasks; 0 = no limit
  double lease_s = 60;  // lease length; renewed every lease_s / 3
  double poll_s = 2;    // wait between polls when idle
  // Set (e.g. from a SIGTERM handler) to finish the trial in flight, give the task back, exit.
  const std::atomic<bool>* stop = nullptr;
  // Called after each queue call on a task, from the worker's thread.
  std::function<void(const WorkerEvent&)> observer;
};

struct WorkerStats {
  int tasks_done = 0;
  int tasks_failed = 0;
  int64_t trials = 0;
  std::string stop_reason;  // "idle", "max tasks", "stopped"
};

// Runs until idle (with exit_when_idle), max_tasks, or stop. Errors: the store's (kUnavailable
// when it stays unreachable past the retries), kInvalidArgument for a bad framework.
Result<WorkerStats> RunWorker(const WorkerOptions& options);

// HOST-PID.
std::string DefaultWorkerId();

}  // namespace opal::dist
