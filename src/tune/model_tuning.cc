#include "opal/model_tuning.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "opal/log.h"

namespace opal {

Result<ModelTuningResult> TuneModelTasks(TuningFramework& fw, const TaskList& tasks, const Target& target,
                                         RecordStore& store, const ModelTuningOptions& o) {
  if (tasks.tasks.empty()) return Error(ErrorCode::kInvalidArgument, "no tasks to tune");
  if (o.trials < 0 || o.trials_per_task < 0 || o.time_budget_s < 0 || o.min_trials < 0)
    return Error(ErrorCode::kInvalidArgument, "tuning budgets must be >= 0");
  const auto start = std::chrono::steady_clock::now();
  const int total = o.trials > 0 ? o.trials : o.trials_per_task * static_cast<int>(tasks.tasks.size());
  const std::vector<TaskBudget> budgets = SplitBudget(tasks, total, o.time_budget_s, std::min(o.min_trials, total));

  ModelTuningResult out;
  int planned = 0;
  for (size_t i = 0; i < tasks.tasks.size(); ++i) {
    out.tasks.push_back({tasks.tasks[i], budgets[i], fw.Supports(tasks.tasks[i].workload), {}});
    if (out.tasks.back().supported) planned += budgets[i].trials;
  }
  Progress progress("tune", planned, "trials", o.progress);
  int done_before = 0;
  for (size_t i = 0; i < out.tasks.size(); ++i) {
    TunedTask& t = out.tasks[i];
    const Workload& w = t.task.workload;
    if (!t.supported) {
      log::Info("[{}/{}] {}: skipped, framework {} has no template for it", i + 1, out.tasks.size(), w.Summary(),
                fw.Name());
      continue;
    }
    SearchOptions so = o.search;
    so.max_trials = t.budget.trials;
    so.time_budget_s = t.budget.time_s;
    so.seed = o.search.seed ? o.search.seed + i : 0;
    if (o.rank_for) so.rank = o.rank_for(w);
    const std::string item = fmt::format("[{}/{}] {}", i + 1, out.tasks.size(), w.Key());
    so.on_trial = [&](const TuneProgress& p) {
      progress.Update(done_before + p.trial,
                      fmt::format("{} trial {}/{} best {:.1f} GFLOP/s failed {}", item, p.trial, p.max_trials,
                                  p.best_gflops, p.failed));
      if (o.search.on_trial) o.search.on_trial(p);
    };
    auto r = TuneWorkload(fw, w, target, store, so);
    if (!r.ok()) return r.status().WithContext(w.Key());
    t.result = std::move(*r);
    out.trials += t.result.trials;
    // A task that stopped early (time, early stop, space exhausted) hands nothing on: the plan
    // of the others stays as split, and the display counts what it did not use as done.
    done_before += t.budget.trials;
    progress.Update(done_before, item);
  }
  out.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  progress.Finish(fmt::format("{} trials on {} tasks in {}", out.trials, out.tasks.size(), FormatClock(out.elapsed_s)));
  return out;
}

}  // namespace opal
