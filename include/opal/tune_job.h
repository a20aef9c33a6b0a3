// A tuning job for the queue: workloads with their trial budgets, on one target, by one
// framework. Submitting it twice gives the same job id, so a rerun resumes.
#pragma once

#include <string>
#include <vector>

#include "opal/task_queue.h"
#include "opal/target.h"
#include "opal/workload.h"

namespace opal::dist {

struct TuneJobTask {
  Workload workload;
  int trials = 0;
  double time_s = 0;  // 0 = no time limit
};

struct TuneJobOptions {
  std::string name;
  Target target;
  std::string framework;          // name
  std::string framework_version;  // the workers' major version must match
  std::string strategy = "evolutionary";
  int early_stop = 0;
  int transfer = 8;  // SearchOptions::transfer
  uint64_t seed = 0;
  int max_attempts = 3;
};

JobSpec MakeTuneJob(const std::vector<TuneJobTask>& tasks, const TuneJobOptions& o);

// The search settings of one task of such a job (trials and time of that workload).
struct TaskSearchSettings {
  int trials = 200;
  double time_s = 0;
  std::string strategy = "evolutionary";
  int early_stop = 0;
  int transfer = 8;
  uint64_t seed = 0;
};
TaskSearchSettings SettingsForTask(const Json& job_settings, const std::string& workload_key);

}  // namespace opal::dist
