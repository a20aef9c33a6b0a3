// TaskQueue: tuning jobs split into tasks, kept in the same database as the records (SQLite or
// PostgreSQL; the DSN is the store's). Workers pull tasks under a lease:
//  - Acquire gives a task to one worker only (PostgreSQL: FOR UPDATE SKIP LOCKED, so many workers
//    dequeue at once; SQLite: one writer at a time) and counts an attempt.
//  - The holder renews the lease while it works and writes each trial as it finishes (AddTrials);
//    Complete writes the final records and marks the task done in one transaction.
//  - A worker that dies stops renewing: once the lease expires the task goes back to the queue,
//    keeping its attempt count and the trials already written; after max_attempts it is failed with
//    the last error. Every write checks the lease is still held, so a task is never done twice.
// Every method is one transaction. Errors as values; kFailed "lease lost" when the lease expired
// and the task was taken over.
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
  Json settings = Json::object();          // framework/search settings (trials, budget, strategy)
  int max_attempts = 3;
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
  int attempts = 0;
  int max_attempts = 0;
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

  // Takes the next task this worker can serve: pending, or running with an expired lease (then
  // the previous holder is recorded as lost in last_error). Tasks whose lease expired after
  // max_attempts become failed. nullopt when nothing is available.
  virtual Result<std::optional<Lease>> Acquire(const WorkerCaps& caps, double lease_s) = 0;

  // Tasks waiting for this worker's target that it cannot serve because the job needs another
  // framework or major version: one line each, for the worker to explain why it refuses them.
  virtual Result<std::vector<std::string>> IncompatibleReasons(const WorkerCaps& caps) = 0;

  virtual Status Renew(const Lease& lease, double lease_s) = 0;
  // Stores finished trials (records) and counts them on the task, if the lease is still held.
  virtual Status AddTrials(const Lease& lease, const std::vector<Record>& records) = 0;
  // Final records + state done, atomically.
  virtual Status Complete(const Lease& lease, const std::vector<Record>& records) = 0;
  // The attempt failed: back to pending, or failed after max_attempts.
  virtual Status Fail(const Lease& lease, const std::string& error) = 0;
  // Gives the task back without spending the attempt (a worker told to stop).
  virtual Status Release(const Lease& lease) = 0;

  virtual Result<std::vector<JobSummary>> Jobs() = 0;
  virtual Result<std::vector<TaskInfo>> Tasks(const std::string& job_id) = 0;

  virtual Status Heartbeat(const WorkerInfo& worker) = 0;
  virtual Result<std::vector<WorkerInfo>> Workers() = 0;
};

}  // namespace opal
