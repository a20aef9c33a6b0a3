#include "opal/record.h"

#include <gtest/gtest.h>

#include "store/store_test_util.h"

namespace opal {
namespace {

Record Sample() {
  Record r;
  r.workload_key = "dense-1";
  r.workload_json = R"({"op":"dense"})";
  r.op = "dense";
  r.target_key = "cpu-x";
  r.target_coarse_key = "cpu";
  r.target_string = "cpu arch=x86_64";
  r.framework = "halide";
  r.framework_version = "1.0";
  r.config_json = R"({"t":4})";
  r.times_s = {3e-3, 1e-3, 2e-3, 4e-3};
  r.timestamp_us = 42;
  r.Finalize(4e6);
  return r;
}

TEST(Record, FinalizeComputesMedianGflopsAndUid) {
  Record r = Sample();
  EXPECT_DOUBLE_EQ(r.median_s, 2.5e-3);
  EXPECT_DOUBLE_EQ(r.gflops, 4e6 / 2.5e-3 / 1e9);
  EXPECT_EQ(r.uid.size(), 64u);
  Record failed = Sample();
  failed.status = TrialStatus::kTimeout;
  failed.error = "run exceeded 10 s";
  failed.Finalize(4e6);
  EXPECT_EQ(failed.median_s, 0);
  EXPECT_EQ(failed.gflops, 0);
  EXPECT_NE(failed.uid, r.uid);
}

TEST(Record, JsonRoundTripIsExact) {
  Record r = Sample();
  r.times_s.push_back(1.0 / 3.0);
  r.Finalize(1e9 / 7);
  auto back = Record::FromJson(Json::parse(CanonicalJson(r.ToJson())));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->uid, r.uid);
  EXPECT_EQ(back->times_s, r.times_s);
  EXPECT_EQ(back->gflops, r.gflops);
}

TEST(Record, TamperedOrIncompleteJsonIsRejected) {
  Json j = Sample().ToJson();
  Json edited = j;
  edited["median_s"] = 1e-9;  // a faster time than measured
  auto a = Record::FromJson(edited);
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("uid does not match"), std::string::npos);
  Json missing = j;
  missing.erase("config");
  auto b = Record::FromJson(missing);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("'config'"), std::string::npos);
  Json wrong = j;
  wrong["times_s"] = "fast";
  EXPECT_FALSE(Record::FromJson(wrong).ok());
  EXPECT_FALSE(Record::FromJson(Json::array()).ok());
}

TEST(Record, StatusNamesRoundTrip) {
  for (auto s : {TrialStatus::kOk, TrialStatus::kBuildError, TrialStatus::kRuntimeError, TrialStatus::kCrash,
                 TrialStatus::kTimeout, TrialStatus::kMismatch}) {
    EXPECT_EQ(*ParseTrialStatus(TrialStatusName(s)), s);
  }
  EXPECT_FALSE(ParseTrialStatus("great").ok());
}

}  // namespace
}  // namespace opal
