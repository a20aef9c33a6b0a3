// `opal plan --replay` end to end on Sailor's measured Clariden plans (../shared/data/sailor):
// the JSON report's per-plan time and memory rows and their errors, leave-one-out over two models'
// sets, the memory fit printed as memory.json reads it, and one-line errors for bad input. Fails
// when the shared data is absent (CI has it at ../shared).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "opal/json.h"

namespace opal {
namespace {

const std::string kData = OPAL_SHARED_DATA "/sailor";

struct CliRun {
  int code = -1;
  std::string out;
};

CliRun Opal(const std::string& args) {
  CliRun r;
  std::string cmd = std::string(OPAL_BIN) + " " + args + " 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int st = pclose(p);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string Opt350Args() {
  return "plan --model " + kData + "/configs/training_config_opt_350.json --profiles " + kData +
         "/profiles/OPT-350 --network " + kData + "/providers/network_coeffs_all_homo.json";
}

TEST(PlanReplayCli, JsonHasTimeAndMemoryPerPlanAndTheirErrors) {
  ASSERT_TRUE(std::filesystem::exists(kData)) << "no shared data at " << kData;
  CliRun r = Opal(Opt350Args() + " --replay " + kData + "/validation/clariden/OPT-350 --json");
  ASSERT_EQ(r.code, 0) << r.out;
  Json j = Json::parse(r.out);
  EXPECT_EQ(j["format"], "opal.replay/2");
  ASSERT_EQ(j["sets"].size(), 1u);
  const Json& set = j["sets"][0];
  EXPECT_EQ(set["replayed"], 15);
  EXPECT_EQ(set["memory_rows"], 15);
  double sum_time = 0, sum_mem = 0;
  for (const auto& row : set["rows"]) {
    EXPECT_GT(row["measured_s"].get<double>(), 0);
    EXPECT_GT(row["memory_bytes"].get<double>(), 0);
    sum_time += std::fabs(row["simulated_s"].get<double>() / row["measured_s"].get<double>() - 1);
    sum_mem += std::fabs(
        row["memory_bytes"].get<double>() / row["measured_memory_bytes"].get<double>() - 1);
  }
  // The reported MAPEs are those of the rows.
  EXPECT_NEAR(set["mape_simulated"].get<double>(), sum_time / 15, 1e-9);
  EXPECT_NEAR(set["mape_memory"].get<double>(), sum_mem / 15, 1e-9);
}

TEST(PlanReplayCli, LeaveOneOutOverTwoModelsAndTheFitAsAFile) {
  ASSERT_TRUE(std::filesystem::exists(kData)) << "no shared data at " << kData;
  const std::string neo = kData + "/configs/training_config_gpt_neo27.json:" + kData +
                          "/profiles/GPT-Neo-2.7:" + kData + "/validation/clariden/GPT-NEO";
  const std::string both =
      Opt350Args() + " --replay " + kData + "/validation/clariden/OPT-350 --replay " + neo;
  CliRun loo = Opal(both + " --leave-one-out --json");
  ASSERT_EQ(loo.code, 0) << loo.out;
  Json j = Json::parse(loo.out);
  ASSERT_EQ(j["sets"].size(), 2u);
  EXPECT_GT(j["loo_mape_memory"].get<double>(), 0);
  int with_loo = 0;
  for (const auto& set : j["sets"])
    for (const auto& row : set["rows"]) with_loo += row.contains("loo_memory_bytes");
  EXPECT_EQ(with_loo, 26);
  CliRun fit = Opal(both + " --calibrate-memory");
  ASSERT_EQ(fit.code, 0) << fit.out;
  Json k = Json::parse(fit.out);
  EXPECT_GT(k["activation_scale"].get<double>(), 0);
  EXPECT_TRUE(k["reserve_gb"].contains("GH-96"));
}

TEST(PlanReplayCli, BadInputIsOneLineWithAnExitCode) {
  ASSERT_TRUE(std::filesystem::exists(kData)) << "no shared data at " << kData;
  std::string cmd =
      std::string(OPAL_BIN) + " " + Opt350Args() + " --replay /nonexistent/plans 2>&1 >/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buf[4096];
  std::string err;
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) err.append(buf, n);
  int st = pclose(p);
  EXPECT_EQ(WEXITSTATUS(st), 3);  // missing file or directory
  EXPECT_NE(err.find("/nonexistent/plans"), std::string::npos) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  CliRun no_replay = Opal(Opt350Args() + " --leave-one-out");
  EXPECT_EQ(no_replay.code, 2);  // a flag that needs --replay
}

}  // namespace
}  // namespace opal
