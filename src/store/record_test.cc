#include "opal/record.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "opal/hash.h"

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

// The uid is the SHA-256 of the record's canonical JSON without uid and format: ComputeUid writes
// that text directly, and must give the same bytes as building the JSON and dumping it.
TEST(Record, UidIsTheHashOfTheCanonicalJsonOfTheContent) {
  std::mt19937_64 rng(11);
  auto text = [&](size_t n) {
    static const std::string extra[] = {"\"", "\\", "\n", "\t", "\x01", "\x1f", "\x7f", "/", "caf\xc3\xa9",
                                        "\xe2\x82\xac", "\xf0\x9f\x98\x80", "'; DROP TABLE records; --"};
    std::string s;
    while (s.size() < n) {
      if (rng() % 4 == 0) s += extra[rng() % std::size(extra)];
      else s += static_cast<char>(0x20 + rng() % 0x5f);
    }
    return s;
  };
  auto number = [&]() {
    switch (rng() % 6) {
      case 0: return 0.0;
      case 1: return -0.0;
      case 2: return std::ldexp(static_cast<double>(rng() % 1000), -1070);  // subnormal
      case 3: return static_cast<double>(rng() % 100);                      // integral
      case 4: return std::numeric_limits<double>::infinity();               // written as null
      default: {
        double d;
        uint64_t bits = rng();
        std::memcpy(&d, &bits, sizeof d);
        return std::isnan(d) ? 1.5 : d;
      }
    }
  };
  for (int i = 0; i < 500; ++i) {
    Record r;
    for (std::string* f : {&r.workload_key, &r.workload_json, &r.op, &r.target_key, &r.target_coarse_key,
                           &r.target_string, &r.framework, &r.framework_version, &r.config_json, &r.error,
                           &r.provenance.opal_version, &r.provenance.compiler, &r.provenance.halide_version,
                           &r.provenance.llvm_version, &r.provenance.host, &r.provenance.worker_id})
      *f = text(rng() % 40);
    r.status = static_cast<TrialStatus>(rng() % 6);
    for (size_t t = rng() % 6; t > 0; --t) r.times_s.push_back(number());
    r.median_s = number();
    r.gflops = number();
    r.timestamp_us = static_cast<int64_t>(rng()) * (rng() % 2 ? 1 : -1);
    Json reference = r.ToJson();
    reference.erase("format");
    reference.erase("uid");
    ASSERT_EQ(r.ComputeUid(), Sha256Hex(CanonicalJson(reference))) << CanonicalJson(reference);
  }
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
