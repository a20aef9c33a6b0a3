// Tuning a model's tasks under one budget: the trials are split by FLOP share with a floor,
// every supported task is tuned and stored, an unsupported one is listed untouched, and the
// progress events count the trials of the whole model.
#include "opal/model_tuning.h"

#include <gtest/gtest.h>

#include <vector>

namespace opal {
namespace {

Workload Dense(int m, int n, int k) {
  return Workload::FromJson({{"op", "dense"}, {"dtype", "float32"}, {"m", m}, {"n", n}, {"k", k},
                             {"trans_a", false}, {"trans_b", false}})
      .value();
}

Task TaskOf(const Workload& w) {
  Task t;
  t.workload = w;
  t.count = 1;
  t.flops = t.total_flops = w.Flops();
  return t;
}

TEST(ModelTuning, SplitsTheBudgetAndTunesEverySupportedTask) {
  TaskList tl;
  tl.tasks = {TaskOf(Dense(32, 48, 64)), TaskOf(Dense(8, 16, 8))};
  // A depthwise conv: a workload the halide framework does not offer as a task.
  auto dw = Workload::FromJson({{"op", "conv2d"}, {"dtype", "float32"}, {"n", 1}, {"c", 8}, {"h", 6}, {"w", 6},
                                {"k", 8}, {"kh", 3}, {"kw", 3}, {"stride_h", 1}, {"stride_w", 1}, {"pad_top", 1},
                                {"pad_left", 1}, {"pad_bottom", 1}, {"pad_right", 1}, {"dilation_h", 1},
                                {"dilation_w", 1}, {"groups", 8}, {"layout", "NCHW"}});
  ASSERT_TRUE(dw.ok()) << dw.status().message();
  tl.tasks.push_back(TaskOf(*dw));
  for (const Task& t : tl.tasks) tl.total_flops += t.total_flops;
  for (Task& t : tl.tasks) t.share = t.total_flops / tl.total_flops;

  auto fw = MakeTuningFramework("halide").value();
  auto store = RecordStore::Open("memory:").value();
  ModelTuningOptions o;
  o.trials = 6;
  o.min_trials = 2;
  o.search.seed = 5;
  o.search.transfer = 0;
  o.search.measure.repeats = 2;
  o.search.measure.min_repeat_s = 0.0005;
  o.search.measure.lock_path = testing::TempDir() + "/opal-model-tuning-test.lock";
  o.progress = ProgressStyle::kQuiet;
  std::vector<ProgressEvent> events;
  SetProgressListener([&](const ProgressEvent& e) { events.push_back(e); });
  auto r = TuneModelTasks(*fw, tl, Target::DetectHost(), *store, o);
  SetProgressListener(nullptr);
  ASSERT_TRUE(r.ok()) << r.status().message();

  ASSERT_EQ(r->tasks.size(), 3u);
  // The large GEMM carries almost all FLOPs: round(6 * share) trials; the small one the floor.
  const int big = static_cast<int>(std::lround(6 * tl.tasks[0].share));
  EXPECT_EQ(r->tasks[0].budget.trials, big);
  EXPECT_EQ(r->tasks[1].budget.trials, 2);
  EXPECT_TRUE(r->tasks[0].supported);
  EXPECT_FALSE(r->tasks[2].supported);
  EXPECT_EQ(r->tasks[0].result.trials, big);
  EXPECT_EQ(r->tasks[1].result.trials, 2);
  EXPECT_EQ(r->tasks[2].result.trials, 0);
  EXPECT_EQ(r->trials, big + 2);
  EXPECT_EQ(store->Count({}).value(), big + 2);  // every trial stored

  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.front().total, big + 2);  // planned: the supported tasks' budgets
  EXPECT_TRUE(events.back().finished);
  EXPECT_EQ(events.back().done, big + 2);
}

TEST(ModelTuning, RejectsAnEmptyTaskListAndNegativeBudgets) {
  auto fw = MakeTuningFramework("halide").value();
  auto store = RecordStore::Open("memory:").value();
  auto empty = TuneModelTasks(*fw, TaskList{}, Target::DetectHost(), *store, {});
  EXPECT_EQ(empty.status().code(), ErrorCode::kInvalidArgument);
  TaskList tl;
  tl.tasks = {TaskOf(Dense(8, 8, 8))};
  ModelTuningOptions o;
  o.time_budget_s = -1;
  EXPECT_EQ(TuneModelTasks(*fw, tl, Target::DetectHost(), *store, o).status().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace opal
