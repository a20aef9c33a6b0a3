// Tuning every task of a model in this process under one budget: what `opal tune MODEL` and
// `opal deliver --budget` both do. The budget (trials and wall time) is split over the tasks by
// their share of the model's FLOPs (SplitBudget), each task is tuned by TuneWorkload with the
// same search settings, and one progress display covers the whole model.
// (Distributed tuning goes through the queue instead: opal/tune_job.h, opal/launcher.h.)
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "opal/progress.h"
#include "opal/record_store.h"
#include "opal/status.h"
#include "opal/tasks.h"
#include "opal/target.h"
#include "opal/tuning_framework.h"
#include "opal/tuning_search.h"

namespace opal {

struct ModelTuningOptions {
  // Trials over the whole model; 0 = trials_per_task per task.
  int trials = 0;
  int trials_per_task = 64;
  // Wall-clock seconds over the whole model, split by share; 0 = no limit.
  double time_budget_s = 0;
  // Fewest trials any task gets (capped by the total).
  int min_trials = 8;
  // The search of every task: strategy, early stop, transfer, measurement, worker id. Its
  // max_trials and time_budget_s are set per task from the split budget; with a nonzero seed,
  // task i searches with seed + i; on_trial is called as it is for one workload.
  SearchOptions search;
  // Optional: a fresh ranking hook (cost model) for each task's search.
  std::function<RankFn(const Workload&)> rank_for;
  // Progress of the whole model (trials done of planned), on stderr.
  ProgressStyle progress = ProgressStyle::kAuto;
};

struct TunedTask {
  Task task;
  TaskBudget budget;
  bool supported = true;  // false: the framework has no template for it (not tuned)
  TuneResult result;
};

struct ModelTuningResult {
  std::vector<TunedTask> tasks;  // in the order of the task list
  int trials = 0;                // measured in this run, over all tasks
  double elapsed_s = 0;
};

// Tunes every task `fw` supports, in order; unsupported ones are listed with supported = false.
// Errors: kInvalidArgument (an empty task list, negative budgets, an unknown strategy), the
// store's and the framework's errors, with the workload's key as context.
Result<ModelTuningResult> TuneModelTasks(TuningFramework& fw, const TaskList& tasks, const Target& target,
                                         RecordStore& store, const ModelTuningOptions& options);

}  // namespace opal
