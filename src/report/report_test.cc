// The report's collectors on data built here: tuning curves against a best-so-far computed
// independently, the plan timeline against the 1F1B event counts, the page's escaping and errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <unistd.h>

#include "collect.h"
#include "opal/record_store.h"
#include "opal/report.h"

namespace opal {
namespace {

Record MakeRecord(const std::string& workload, int i, double seconds, bool ok) {
  Record r;
  r.workload_key = workload;
  r.workload_json = R"({"op":"dense"})";
  r.op = "dense";
  r.target_key = "cpu-x86_64-test";
  r.target_coarse_key = "cpu-x86_64";
  r.target_string = "cpu arch=x86_64";
  r.framework = "halide";
  r.framework_version = "1";
  r.config_json = "{\"i\":" + std::to_string(i) + "}";
  r.status = ok ? TrialStatus::kOk : TrialStatus::kBuildError;
  if (ok) r.times_s = {seconds};
  else r.error = "did not compile";
  r.timestamp_us = 1000 + i;
  r.Finalize(4e6);
  return r;
}

TEST(ReportStore, CurvesAreTheBestValidTimeSoFarInStoredOrder) {
  auto store = RecordStore::Open("memory:");
  ASSERT_TRUE(store.ok());
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(1e-4, 1e-2);
  std::vector<Record> recs;
  std::vector<double> expected;  // best-so-far of workload "a", ms (NaN before a valid trial)
  double best = NAN;
  for (int i = 0; i < 40; ++i) {
    const bool ok = i % 5 != 1;  // trial 1, 6, ... fail
    const double s = u(rng);
    recs.push_back(MakeRecord("a", i, s, ok));
    if (ok) best = std::isnan(best) ? s * 1e3 : std::min(best, s * 1e3);
    expected.push_back(best);
    if (i % 4 == 0) recs.push_back(MakeRecord("b", i, u(rng), true));
  }
  ASSERT_TRUE((*store)->Put(recs).ok());
  ReportOptions o;
  o.max_curves = 1;
  auto j = report::CollectStore(**store, o);
  ASSERT_TRUE(j.ok()) << j.status().message();
  EXPECT_EQ((*j)["trials"].get<int64_t>(), static_cast<int64_t>(recs.size()));
  ASSERT_EQ((*j)["curves"].size(), 1u);  // only the workload with the most trials
  const Json& c = (*j)["curves"][0];
  EXPECT_EQ(c["workload_key"], "a");
  ASSERT_EQ(c["best_ms"].size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    if (std::isnan(expected[i])) EXPECT_TRUE(c["best_ms"][i].is_null()) << i;
    else EXPECT_DOUBLE_EQ(c["best_ms"][i].get<double>(), expected[i]) << i;
  }
  ASSERT_EQ((*j)["stats"].size(), 1u);
  EXPECT_EQ((*j)["stats"][0]["records"].get<int64_t>(), static_cast<int64_t>(recs.size()));
  EXPECT_EQ((*j)["stats"][0]["ok_records"].get<int64_t>(), static_cast<int64_t>(recs.size()) - 8);
}

std::string WritePlan(const Json& j) {
  char name[] = "/tmp/opal-report-plan-XXXXXX";
  const int fd = mkstemp(name);
  EXPECT_GE(fd, 0);
  std::ofstream(name) << j.dump();
  ::close(fd);
  return name;
}

TEST(ReportPlan, TimelineHasEveryForwardAndBackwardOfTheIteration) {
  const int stages = 3, micro = 5;
  Json st = Json::array();
  for (int s = 0; s < stages; ++s)
    st.push_back({{"layers", {s * 2, s * 2 + 2}}, {"gpu", "A100-80"}, {"gpus", 2}, {"tp", 1}, {"dp", 2},
                  {"fwd_s", 0.01 * (s + 1)}, {"bwd_s", 0.02 * (s + 1)}, {"update_s", 0.005},
                  {"allreduce_s", 0.004}, {"p2p_out_s", s + 1 < stages ? 0.001 : 0.0},
                  {"memory_bytes", 4e10}, {"time_source", "roofline"}});
  Json best{{"stages", st}, {"micro_batch", 4}, {"num_micro_batches", micro}, {"gpus", 6},
            {"iteration_s", 1.0}, {"price_per_hour", 20.0}, {"cost_per_iteration", 0.005}};
  Json plan{{"format", "opal.plan/1"}, {"model", "m"}, {"goal", "throughput"}, {"best", best},
            {"pareto", Json::array({best})}, {"homogeneous", Json::array()}};
  const std::string path = WritePlan(plan);
  auto j = report::CollectPlan(path);
  std::remove(path.c_str());
  ASSERT_TRUE(j.ok()) << j.status().message();
  int fwd = 0, bwd = 0, update = 0;
  double end = 0;
  for (const Json& e : (*j)["events"]) {
    fwd += e["kind"] == "forward";
    bwd += e["kind"] == "backward";
    update += e["kind"] == "update";
    EXPECT_LT(e["start_s"].get<double>(), e["end_s"].get<double>());
    end = std::max(end, e["end_s"].get<double>());
  }
  EXPECT_EQ(fwd, stages * micro);
  EXPECT_EQ(bwd, stages * micro);
  EXPECT_EQ(update, stages);
  // No pipeline is faster than its slowest stage doing all its micro-batches back to back.
  EXPECT_GE(end, micro * (0.03 + 0.06) - 1e-12);
  EXPECT_DOUBLE_EQ((*j)["simulated_iteration_s"].get<double>(), end);
}

TEST(ReportPlan, FilesThatAreNotPlansAreOneLineErrors) {
  auto missing = report::CollectPlan("/nonexistent/plan.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
  const std::string path = WritePlan(Json{{"format", "opal.tasks/1"}});
  auto wrong = report::CollectPlan(path);
  std::remove(path.c_str());
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), ErrorCode::kInvalidModel);
  EXPECT_NE(wrong.status().message().find("opal plan --json"), std::string::npos);
}

TEST(ReportPage, DataCannotCloseTheScriptAndPlotlyIsRequired) {
  char name[] = "/tmp/opal-report-js-XXXXXX";
  const int fd = mkstemp(name);
  ASSERT_GE(fd, 0);
  std::ofstream(name) << "window.Plotly = {};";
  ::close(fd);
  Json data{{"format", "opal.report/1"}, {"store", "</script><script>alert(1)</script>"}};
  auto html = RenderReportHtml(data, name);
  std::remove(name);
  ASSERT_TRUE(html.ok());
  EXPECT_EQ(html->find("</script><script>alert"), std::string::npos);
  EXPECT_NE(html->find("window.Plotly = {};"), std::string::npos);
  auto none = RenderReportHtml(data, "/nonexistent/plotly.js");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), ErrorCode::kNotFound);
  EXPECT_NE(none.status().message().find("python3-plotly"), std::string::npos);
}

TEST(Report, StoreIsRequiredAndAMissingSqliteFileIsNotCreated) {
  ReportOptions o;
  auto none = CollectReport(o);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), ErrorCode::kInvalidArgument);
  o.store_dsn = "sqlite:/nonexistent/dir/records.db";
  auto missing = CollectReport(o);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace opal
