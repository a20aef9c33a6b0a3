#include "opal/starter_kb.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "opal/cost_model.h"
#include "opal/cost_model_training.h"
#include "opal/record_file.h"
#include "opal/tuning_framework.h"

namespace opal {
namespace {
namespace fs = std::filesystem;

Record Trial(int workload, int config, double median) {
  Record r;
  r.workload_key = "dense-kb" + std::to_string(workload);
  r.workload_json = R"({"op":"dense","m":)" + std::to_string(workload) + "}";
  r.op = "dense";
  r.target_key = "cpu-x86_64-avx512-kbtest";
  r.target_coarse_key = "cpu-x86_64-avx512-c2";
  r.target_string = "cpu arch=x86_64";
  r.framework = "synthetic";
  r.framework_version = "1";
  r.config_json = R"({"tile":)" + std::to_string(config) + "}";
  r.times_s = {median, median * 1.1, median * 0.95};
  r.provenance = {"0.1.0", "gcc 12.2.0", "", "", "kbhost", "worker-0"};
  r.timestamp_us = 1000 + config;
  r.Finalize(2e9);
  return r;
}

// A knowledge base folder: MANIFEST.json, records.jsonl.gz, costmodel.json (a small model).
struct KbDir {
  std::string dir = testing::TempDir() + "/kb_" + std::to_string(getpid());
  KbDir() {
    fs::remove_all(dir);
    fs::create_directories(dir);
    auto w = RecordFileWriter::Create(dir + "/records.jsonl.gz", /*gzip=*/true);
    EXPECT_TRUE(w.ok());
    for (int wl = 0; wl < 3; ++wl)
      for (int c = 0; c < 4; ++c) EXPECT_TRUE((*w)->Write(Trial(wl, c, 1e-3 * (1 + c))).ok());
    EXPECT_TRUE((*w)->Close().ok());
    std::vector<TrainingRow> rows;
    for (int g = 0; g < 4; ++g)
      for (int i = 0; i < 20; ++i)
        rows.push_back({.group = "g" + std::to_string(g),
                        .features = {double(i), double(g)},
                        .gflops = double(i % 7)});
    costmodel::NormalizeLabels(rows);
    CostModelInfo info;
    info.framework = "synthetic";
    info.framework_version = "1";
    info.feature_names = {"a", "b"};
    info.feature_version = FeatureVersion("synthetic", "1", info.feature_names);
    auto m = CostModel::Train(rows, info, {.search = false, .rounds = 5});
    EXPECT_TRUE(m.ok()) << m.status().message();
    EXPECT_TRUE(m->Save(dir + "/costmodel.json").ok());
    Manifest(R"({"format": "opal.kb/1", "version": "t1", "records": "records.jsonl.gz",
                 "cost_model": "costmodel.json", "record_count": 12})");
    setenv("OPAL_KB_DIR", dir.c_str(), 1);
  }
  ~KbDir() {
    unsetenv("OPAL_KB_DIR");
    fs::remove_all(dir);
  }
  void Manifest(const std::string& text) { std::ofstream(dir + "/MANIFEST.json") << text; }
};

std::string FreshDsn(const std::string& name) {
  const std::string db = testing::TempDir() + "/" + name + "_" + std::to_string(getpid()) + ".db";
  fs::remove(db);
  return "sqlite:" + db;
}

TEST(StarterKb, ImportsOnceThenNamesItsCostModelAsTheDefault) {
  KbDir kb;
  auto found = FindStarterKb();
  ASSERT_TRUE(found.ok() && *found) << found.status().message();
  EXPECT_EQ((*found)->version, "t1");
  const std::string dsn = FreshDsn("starter");
  auto store = RecordStore::Open(dsn);
  ASSERT_TRUE(store.ok());
  EXPECT_EQ(DefaultCostModel(dsn), "");
  auto first = EnsureStarterKb(**store, dsn, **found);
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_TRUE(first->imported);
  EXPECT_EQ(first->records, 12);
  EXPECT_EQ(first->added, 12);
  EXPECT_EQ(*(*store)->Count({}), 12);
  EXPECT_EQ(DefaultCostModel(dsn), "@starter-t1");
  auto again = EnsureStarterKb(**store, dsn, **found);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->imported);
  EXPECT_EQ(*(*store)->Count({}), 12);
  // A new version imports again; the records already there are not duplicated.
  kb.Manifest(R"({"format": "opal.kb/1", "version": "t2", "cost_model": "costmodel.json"})");
  auto v2 = EnsureStarterKb(**store, dsn, **FindStarterKb());
  ASSERT_TRUE(v2.ok());
  EXPECT_TRUE(v2->imported);
  EXPECT_EQ(v2->added, 0);
  EXPECT_EQ(DefaultCostModel(dsn), "@starter-t2");
}

TEST(StarterKb, ADamagedFileImportsNothing) {
  KbDir kb;
  {
    std::ofstream out(kb.dir + "/records.jsonl.gz", std::ios::trunc);
    out << Trial(0, 0, 1e-3).ToJson().dump() << "\n{\"uid\": \"broken\n";
  }
  const std::string dsn = FreshDsn("damaged");
  auto store = RecordStore::Open(dsn);
  ASSERT_TRUE(store.ok());
  auto r = EnsureStarterKb(**store, dsn, **FindStarterKb());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("records.jsonl.gz:2"), std::string::npos)
      << r.status().message();
  EXPECT_EQ(*(*store)->Count({}), 0);
  EXPECT_EQ(DefaultCostModel(dsn), "");
}

TEST(StarterKb, BadManifestIsAClearErrorAndOffMeansNone) {
  KbDir kb;
  kb.Manifest(R"({"version": 3})");
  auto bad = FindStarterKb();
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("OPAL_KB_DIR=off"), std::string::npos);
  setenv("OPAL_KB_DIR", "off", 1);
  auto off = FindStarterKb();
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(*off);
}

// The knowledge base in the source tree is whole: every record parses (uids match their content).
TEST(StarterKb, TheShippedOneIsWhole) {
  unsetenv("OPAL_KB_DIR");
  auto kb = FindStarterKb();
  ASSERT_TRUE(kb.ok()) << kb.status().message();
  ASSERT_TRUE(*kb) << "data/kb is missing from the source tree";
  int64_t n = 0, current = 0;
  Status s = ForEachRecordLine((*kb)->records, [&](int64_t line, std::string_view text) -> Status {
    auto r = ParseRecordLine(text);
    if (!r.ok()) return r.status().WithContext("line " + std::to_string(line));
    ++n;
    auto fw = MakeTuningFramework(r->framework);
    if (fw.ok() && FrameworkMajorVersion(r->framework_version) == FrameworkMajorVersion((*fw)->Version()))
      ++current;
    return Status::Ok();
  });
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(n, (*kb)->record_count);
  // Builds use records of the framework's current major version only: a knowledge base measured
  // by an older one teaches a fresh install nothing (re-run the campaign, docs/knowledge_base.md).
  EXPECT_GT(current, n / 2) << current << " of " << n
                            << " shipped records are of the current framework version";
  // Its cost model reads the features the current framework computes: a change of the features
  // needs a new knowledge base (scripts/kb/publish.sh), or builds would refuse the shipped model.
  auto model = CostModel::Load((*kb)->cost_model);
  ASSERT_TRUE(model.ok()) << model.status().message();
  auto fw = MakeTuningFramework(model->info().framework);
  ASSERT_TRUE(fw.ok());
  EXPECT_EQ(model->info().feature_version, costmodel::FeatureVersionOf(**fw))
      << "data/kb/costmodel.json was trained on other features: retrain it "
         "(docs/knowledge_base.md)";
}

}  // namespace
}  // namespace opal
