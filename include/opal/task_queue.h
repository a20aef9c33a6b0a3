// TaskQueue: tuning jobs split into tasks, kept in the same database as the records (SQLite or
// PostgreSQL; the DSN is the store's). Workers pull tasks under a lease:
//  - Acquire gives a task to one worker only (PostgreSQL: FOR UPDATE SKIP LOCKED, so many workers
//    dequeue at once; SQLite: one writer at a time).
//  - The holder renews the lease while it works and writes each trial as it finishes (AddTrials);
//    Complete writes the final records and marks the task done in one transaction.
//  - Attempts are spent only by failures of the task itself (Fail): after max_attempts the task
//    is failed with the last error. Release (a worker told to stop, or one that lost the
//    database) spends nothing.
//  - A worker that dies or stalls stops renewing: once the lease expires the next Acquire takes
//    the task back, keeping the trials already written, and counts a lost holder; a task that lost
//    max_lost holders is failed (something in it kills or stalls workers). Every write checks the
//    lease is still held, so a task is never done twice.
// Every method is one transaction, retried with reconnection while the database is briefly
// unreachable (store/sql_session.h: 60 s by default). Errors as values; kFailed "lease lost" when
// the lease expired and the task was taken over; kUnavailable when the database stayed away.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "opal/json.h"
#include "opal/record.h"
#include "opal/status.h"

namespace opal {

// What was asked: workloads x one target, with a framework (and required version) and settings.
struct JobSpec {
  std::string name;                        // for humans, e.g. the model file name
  // One task per workload: (Workload::Key(), canonical JSON), in the order tasks should run.
  std::vector<std::pair<std::string, std::string>> workloads;
  std::string target_string;               // canonical target string
  std::string target_key;                  // its exact key: workers must match it
  std::string framework;                   // e.g. "halide"
  std::string framework_version;           // workers need the same major version
  // Framework/search settings (trials, budget, strategy). A per-task part may sit under
  // settings["tasks"][workload key]: each task's row then holds the rest of the settings and only
  // its own entry of "tasks" (so a job's size grows linearly with its tasks); the job keeps all.
  Json settings = Json::object();
  int max_attempts = 3;  // failures of the task itself before it is failed
  int max_lost = 10;     // holders lost (lease expired) before it is failed
  // The job id: SHA-256 prefix of everything above; submitting the same job again resumes it.
  std::string Id() const;
};

enum class TaskState { kPending, kRunning, kDone, kFailed };
std::string_view TaskStateName(TaskState s);

struct TaskInfo {
  int64_t id = 0;
  std::string job_id;
  std::string workload_key;
  std::string workload_json;
  std::string target_key;
  std::string target_string;
  std::string framework;
  std::string framework_version;
  Json settings;
  TaskState state = TaskState::kPending;
  int attempts = 0;  // failures of the task itself so far
  int max_attempts = 0;
  int lost = 0;  // holders that vanished (lease expired) so far
  int max_lost = 0;
  std::string lease_owner;
  int64_t lease_expires_us = 0;
  std::string last_error;
  int64_t trials = 0;    // records written by this task's workers
  double best_s = 0;     // fastest valid median so far (0 = none)
};

// A held task. Pass it back to Renew/AddTrials/Complete/Fail/Release.
struct Lease {
  TaskInfo task;
  std::string worker_id;
};

struct JobSummary {
  std::string id;
  std::string name;
  JobSpec spec;
  int64_t created_us = 0;
  int64_t tasks = 0, pending = 0, running = 0, done = 0, failed = 0;
  int64_t trials = 0;
};

struct WorkerInfo {
  std::string id;
  std::string host;
  std::string target_key;
  std::string state;  // "idle", "working", "stopped"
  int64_t last_seen_us = 0;
  int64_t tasks_done = 0;
};

// What a worker can serve.
struct WorkerCaps {
  std::string worker_id;
  std::string host;
  std::string target_key;
  std::string framework;
  std::string framework_version;
};

class TaskQueue {
 public:
  // sqlite:PATH or postgresql://...; migrates the schema like RecordStore::Open.
  static Result<std::unique_ptr<TaskQueue>> Open(std::string_view dsn);
  virtual ~TaskQueue() = default;

  // Adds the job and its tasks; tasks already present (same job id and workload) are kept as
  // they are, so resubmitting resumes: done tasks are not redone. Returns the job id.
  virtual Result<std::string> Submit(const JobSpec& spec) = 0;

  // Takes the next task this worker can serve: first a running one whose lease expired (the
  // previous holder is recorded as lost in last_error; a task reaching max_lost is failed
  // instead), else the first pending one. nullopt when nothing is available now.
  virtual Result<std::optional<Lease>> Acquire(const WorkerCaps& caps, double lease_s) = 0;

  // Tasks this worker could still be given: pending, or running under a lease that may yet
  // expire. 0 means there is nothing left for it.
  virtual Result<int64_t> Unfinished(const WorkerCaps& caps) = 0;

  // Tasks waiting for this worker's target that it cannot serve because the job needs another
  // framework or major version: one line each, for the worker to explain why it refuses them.
  virtual Result<std::vector<std::string>> IncompatibleReasons(const WorkerCaps& caps) = 0;

  virtual Status Renew(const Lease& lease, double lease_s) = 0;
  // Stores finished trials (records) and counts them on the task, if the lease is still held.
  virtual Status AddTrials(const Lease& lease, const std::vector<Record>& records) = 0;
  // Final records + state done, atomically. Completing again a task this worker completed is a
  // no-op (a retried call whose first commit went through).
  virtual Status Complete(const Lease& lease, const std::vector<Record>& records) = 0;
  // The task itself failed: spends an attempt; back to pending, or failed after max_attempts.
  virtual Status Fail(const Lease& lease, const std::string& error) = 0;
  // Gives the task back without spending anything (a worker told to stop, or cut off from the
  // database).
  virtual Status Release(const Lease& lease) = 0;

  virtual Result<std::vector<JobSummary>> Jobs() = 0;
  virtual Result<std::vector<TaskInfo>> Tasks(const std::string& job_id) = 0;

  virtual Status Heartbeat(const WorkerInfo& worker) = 0;
  virtual Result<std::vector<WorkerInfo>> Workers() = 0;
};

}  // namespace opal
