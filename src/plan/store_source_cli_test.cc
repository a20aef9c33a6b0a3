// `opal plan --store` end to end: records of a tiny transformer's products written to a SQLite
// store with the store API, then the CLI (OPAL_BIN) run on one A100-80 with a fixed micro-batch,
// so that the single stage's layers have known shapes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "opal/json.h"
#include "opal/record_store.h"
#include "opal/target.h"
#include "opal/workload.h"

namespace opal {
namespace {

namespace fs = std::filesystem;

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

Record Rec(const Json& workload, double median) {
  auto w = Workload::FromJson(workload);
  EXPECT_TRUE(w.ok()) << w.status().message();
  // The catalog's target of A100-80 (data/catalog/targets.json).
  auto t = Target::Parse("cuda arch=sm_80 cores=108 mem=80G model='NVIDIA A100-SXM4-80GB'");
  Record r;
  r.workload_key = w->Key();
  r.workload_json = w->CanonicalJson();
  r.op = w->op();
  r.target_key = t->ExactKey();
  r.target_coarse_key = t->CoarseKey();
  r.target_string = t->CanonicalString();
  r.framework = "test";
  r.framework_version = "1";
  r.config_json = "{}";
  r.times_s = {median};
  r.Finalize(w->Flops());
  return r;
}

Json Dense(int64_t m, int64_t n, int64_t k) {
  return {{"op", "dense"}, {"dtype", "float16"}, {"m", m},          {"n", n},
          {"k", k},        {"trans_a", false},   {"trans_b", false}};
}
Json Bmm(int64_t b, int64_t m, int64_t n, int64_t k) {
  return {{"op", "batch_matmul"}, {"dtype", "float16"}, {"batch", b}, {"m", m}, {"n", n}, {"k", k},
          {"broadcast", "none"}};
}

class PlanStoreCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("opal_plan_cli_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    db_ = (dir_ / "records.db").string();
    // 2 blocks, h 64, 4 heads, s 32, f 256, v 128; global batch 8, micro-batch 2 on one GPU.
    std::ofstream(dir_ / "model.json") << R"({"name": "tiny", "layers": 2, "hidden": 64,
      "heads": 4, "seq_len": 32, "vocab": 128, "global_batch": 8, "precision": "fp16"})";
    std::ofstream(dir_ / "cluster.json") << R"({"available": [{"gpu": "A100-80", "count": 1}]})";
    auto store = RecordStore::Open("sqlite:" + db_);
    ASSERT_TRUE(store.ok()) << store.status().message();
    // Block products at 64 tokens (micro-batch 2 x 32) and 8 head-batches, and the LM projection.
    auto n = (*store)->Put({Rec(Dense(64, 192, 64), 30e-6), Rec(Dense(64, 64, 64), 11e-6),
                            Rec(Dense(64, 256, 64), 40e-6), Rec(Dense(64, 64, 256), 41e-6),
                            Rec(Bmm(8, 32, 32, 16), 7e-6), Rec(Bmm(8, 32, 16, 32), 8e-6),
                            Rec(Dense(64, 128, 64), 25e-6)});
    ASSERT_TRUE(n.ok() && *n == 7);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Args() const {
    return "plan --model " + (dir_ / "model.json").string() + " --cluster " +
           (dir_ / "cluster.json").string() + " --micro-batch 2 --max-tp 1 --time-limit 1";
  }
  fs::path dir_;
  std::string db_;
};

TEST_F(PlanStoreCli, JsonCountsStoreAndRooflineLayers) {
  CliRun r = Opal(Args() + " --store sqlite:" + db_ + " --json");
  ASSERT_EQ(r.code, 0) << r.out;
  Json j = Json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j["time_sources"], "store > roofline");
  ASSERT_EQ(j["best"]["stages"].size(), 1u);
  EXPECT_EQ(j["best"]["stages"][0]["time_source"], "roofline+store");
  EXPECT_EQ(j["layer_sources"]["store"], 3);     // 2 blocks and the head
  EXPECT_EQ(j["layer_sources"]["roofline"], 1);  // the embedding (a gather, no product)
  // Forward of the stage covers the records' medians: 2 blocks of 137 us and the head's 25 us.
  EXPECT_GT(j["best"]["stages"][0]["fwd_s"].get<double>(), 2 * 137e-6 + 25e-6);

  CliRun plain = Opal(Args() + " --json");
  ASSERT_EQ(plain.code, 0);
  Json p = Json::parse(plain.out, nullptr, false);
  EXPECT_EQ(p["best"]["stages"][0]["time_source"], "roofline");
  EXPECT_EQ(p["layer_sources"]["roofline"], 4);
}

TEST_F(PlanStoreCli, TextShowsStoreAndErrorsAreOneLine) {
  CliRun r = Opal(Args() + " --store sqlite:" + db_);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("layer times from store > roofline"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("layer times of the best plan: roofline 1, store 3"), std::string::npos)
      << r.out;
  CliRun missing = Opal(Args() + " --store sqlite:" + (dir_ / "absent.db").string());
  EXPECT_EQ(missing.code, 3);  // kNotFound
  EXPECT_FALSE(fs::exists(dir_ / "absent.db"));
  CliRun bad = Opal(Args() + " --store nosuch:x");
  EXPECT_EQ(bad.code, 2);  // kInvalidArgument
}

}  // namespace
}  // namespace opal
