// One conformance suite for every RecordStore backend: memory, SQLite and PostgreSQL (the latter
// on the throwaway server CTest starts). Every backend must give the same answers.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

#include "opal/record_store.h"
#include "store/schema.h"
#include "store/sql_session.h"
#include "store/store_test_util.h"

namespace opal::store::testing {
namespace {

class StoreConformance : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    auto dsn = FreshDsn(GetParam());
    ASSERT_TRUE(dsn.ok()) << dsn.status().message();
    dsn_ = *dsn;
    auto s = RecordStore::Open(dsn_);
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_ = std::move(*s);
  }
  // The SQL stores' one-row summaries hold exactly each group's best records (memory: nothing).
  void ExpectBestRowsMatch(const std::string& dsn, const std::string& when) {
    if (GetParam() == "memory") return;
    Status st = CheckBestRows(dsn);
    EXPECT_TRUE(st.ok()) << when << ": " << st.message();
  }
  int64_t Put(const std::vector<Record>& rs) {
    auto n = store_->Put(rs);
    EXPECT_TRUE(n.ok()) << n.status().message();
    return n.ok() ? *n : -1;
  }
  std::vector<Record> Top(TopKQuery q) {
    auto r = store_->TopK(q);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : std::vector<Record>{};
  }
  std::string dsn_;
  std::unique_ptr<RecordStore> store_;
};

TEST_P(StoreConformance, OpensAtTheCurrentSchema) {
  auto v = store_->SchemaVersion();
  ASSERT_TRUE(v.ok());
  if (GetParam() != "memory") EXPECT_EQ(*v, CurrentSchemaVersion());
}

TEST_P(StoreConformance, TopKIsFastestValidFirstAndKeepsEveryTrial) {
  std::vector<Record> rs;
  const double medians[] = {5e-3, 1e-3, 3e-3, 2e-3, 4e-3};
  for (int i = 0; i < 5; ++i)
    rs.push_back(
        MakeRecord({.config = "{\"tile\":" + std::to_string(i) + "}", .median = medians[i]}));
  rs.push_back(MakeRecord({.config = "{\"tile\":99}", .status = TrialStatus::kCrash}));
  rs.push_back(MakeRecord({.workload = 1, .median = 1e-6}));  // another workload
  EXPECT_EQ(Put(rs), 7);
  auto top = Top({.workload_key = "conv2d-w0", .target_key = "cpu-x86_64-avx2-aaaa", .k = 3});
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].median_s, 1e-3);
  EXPECT_EQ(top[1].median_s, 2e-3);
  EXPECT_EQ(top[2].median_s, 3e-3);
  EXPECT_EQ(top[0].config_json, "{\"tile\":1}");
  auto all = store_->Count({.workload_key = "conv2d-w0"});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, 6) << "failed trials are kept";
  EXPECT_EQ(*store_->Count({.workload_key = "conv2d-w0", .ok_only = true}), 5);
  EXPECT_TRUE(
      Top({.workload_key = "conv2d-w7", .target_key = "cpu-x86_64-avx2-aaaa", .k = 3}).empty());
}

TEST_P(StoreConformance, PuttingTheSameRecordTwiceAddsNothing) {
  Record r = MakeRecord({});
  EXPECT_EQ(Put({r}), 1);
  EXPECT_EQ(Put({r, r}), 0);
  EXPECT_EQ(*store_->Count({}), 1);
}

TEST_P(StoreConformance, UnfinalizedRecordsAreRefused) {
  Record r = MakeRecord({});
  r.median_s = 42;  // content changed after Finalize: the uid is stale
  EXPECT_FALSE(store_->Put({r}).ok());
  EXPECT_EQ(*store_->Count({}), 0);
}

// Top-k answers match a full sort of the valid records by (median, uid), for k below and above
// the SQL stores' best-record summary (32 per group), with ties, records arriving in several
// transactions in random order, and after a prune.
TEST_P(StoreConformance, TopKMatchesAFullSortAtEverySize) {
  std::mt19937 rng(7);
  std::vector<Record> all;
  for (int i = 0; i < 120; ++i) {
    const double median = 1e-3 * (1 + static_cast<int>(rng() % 60));  // ties on purpose
    const bool ok = i % 7 != 3;
    all.push_back(
        MakeRecord({.target = i % 5 == 0 ? "cpu-x86_64-avx2-bbbb" : "cpu-x86_64-avx2-aaaa",
                    .version = i % 4 == 0 ? "2.0" : (i % 2 ? "1.0" : "1.1"),
                    .config = "{\"i\":" + std::to_string(i) + "}",
                    .median = median,
                    .status = ok ? TrialStatus::kOk : TrialStatus::kCrash}));
  }
  std::shuffle(all.begin(), all.end(), rng);
  for (size_t b = 0; b < all.size(); b += 17)
    Put(std::vector<Record>(all.begin() + b, all.begin() + std::min(all.size(), b + 17)));
  auto expect = [&](const std::string& target, const std::string& major, size_t k) {
    std::vector<Record> want;
    for (const Record& r : all)
      if (r.status == TrialStatus::kOk && r.target_key == target &&
          (major.empty() || FrameworkMajorVersion(r.framework_version) == major))
        want.push_back(r);
    std::sort(want.begin(), want.end(), [](const Record& a, const Record& b) {
      return std::tie(a.median_s, a.uid) < std::tie(b.median_s, b.uid);
    });
    std::vector<std::string> uids;
    for (size_t i = 0; i < want.size() && i < k; ++i) uids.push_back(want[i].uid);
    return uids;
  };
  auto got = [&](const std::string& target, const std::string& version, int k) {
    std::vector<std::string> uids;
    for (const Record& r : Top({.workload_key = "conv2d-w0",
                           .target_key = target,
                           .framework = "halide",
                           .framework_version = version,
                           .k = k}))
      uids.push_back(r.uid);
    return uids;
  };
  ExpectBestRowsMatch(dsn_, "after the puts");
  for (int k : {1, 10, 16, 17, 32, 33, 100}) {
    EXPECT_EQ(got("cpu-x86_64-avx2-aaaa", "1.7", k), expect("cpu-x86_64-avx2-aaaa", "1", k))
        << "k=" << k;
    EXPECT_EQ(got("cpu-x86_64-avx2-aaaa", "", k), expect("cpu-x86_64-avx2-aaaa", "", k))
        << "any version, k=" << k;
    EXPECT_EQ(got("cpu-x86_64-avx2-bbbb", "2.0", k), expect("cpu-x86_64-avx2-bbbb", "2", k))
        << "k=" << k;
  }
  // Pruning version 1.0 to its 3 best per (workload, target) leaves version 1.1 untouched.
  ASSERT_TRUE(store_->Prune("halide", "1.0", 3).ok());
  std::erase_if(all, [&](const Record& r) {
    if (r.framework_version != "1.0") return false;
    std::vector<const Record*> same;
    for (const Record& o : all)
      if (o.framework_version == "1.0" && o.target_key == r.target_key &&
          o.status == TrialStatus::kOk)
        same.push_back(&o);
    std::sort(same.begin(), same.end(), [](auto* a, auto* b) {
      return std::tie(a->median_s, a->uid) < std::tie(b->median_s, b->uid);
    });
    for (size_t i = 0; i < same.size() && i < 3; ++i)
      if (same[i]->uid == r.uid) return false;
    return true;
  });
  ExpectBestRowsMatch(dsn_, "after the prune");
  for (int k : {5, 16, 32, 40})
    EXPECT_EQ(got("cpu-x86_64-avx2-aaaa", "1.0", k), expect("cpu-x86_64-avx2-aaaa", "1", k))
        << "after prune, k=" << k;
}

// Top-k gives back whole records, every field as it was put (the SQL stores fill the workload's
// and target's fields from rows they remember), from the summary, from the records (k > 32) and
// from the coarse fallback; a workload or target looked up before it existed is found once added.
TEST_P(StoreConformance, TopKReturnsWholeRecordsAndSeesKeysAddedLater) {
  TopKQuery q{.workload_key = "conv2d-w3",
              .target_key = "cpu-x86_64-avx2-aaaa",
              .target_coarse_key = "cpu-x86_64-avx2",
              .k = 3,
              .coarse_fallback = true};
  EXPECT_TRUE(Top(q).empty()) << "nothing stored yet";
  std::map<std::string, Record> put;
  for (int i = 0; i < 45; ++i) {
    Record r = MakeRecord({.workload = 3,
                           .target = i < 40 ? "cpu-x86_64-avx2-aaaa" : "cpu-x86_64-avx2-bbbb",
                           .config = "{\"i\":" + std::to_string(i) + "}",
                           .median = 1e-3 * (1 + i % 13)});
    put[r.uid] = r;
  }
  std::vector<Record> all;
  for (const auto& [uid, r] : put) all.push_back(r);
  EXPECT_EQ(Put(all), 45);
  auto same_as_put = [&](const std::vector<Record>& got, size_t n, const std::string& what) {
    ASSERT_EQ(got.size(), n) << what;
    for (const Record& r : got) {
      ASSERT_TRUE(put.contains(r.uid)) << what;
      EXPECT_EQ(r.ToJson(), put[r.uid].ToJson()) << what;
    }
  };
  for (int k : {3, 40, 45}) {
    q.k = k;
    same_as_put(Top(q), static_cast<size_t>(k), "exact then coarse, k=" + std::to_string(k));
  }
  q.target_key = "cpu-x86_64-avx2-none";  // a machine of the family with no records
  same_as_put(Top(q), 45, "coarse only");
  q.target_key = "cpu-x86_64-avx2-eeee";
  q.coarse_fallback = false;
  EXPECT_TRUE(Top(q).empty());
  Put({MakeRecord({.workload = 3, .target = "cpu-x86_64-avx2-eeee"})});
  EXPECT_EQ(Top(q).size(), 1u) << "a target looked up before it existed";
}

TEST_P(StoreConformance, CoarseFallbackOnlyWhenAskedAndExactFirst) {
  EXPECT_EQ(
      Put({MakeRecord({.target = "cpu-x86_64-avx2-bbbb", .median = 1e-4}),
           MakeRecord({.target = "cpu-x86_64-avx2-cccc", .median = 2e-4}),
           MakeRecord(
               {.target = "cpu-x86_64-avx512-dddd", .coarse = "cpu-x86_64-avx512", .median = 1e-5}),
           MakeRecord({.target = "cpu-x86_64-avx2-aaaa", .median = 9e-4})}),
      4);
  TopKQuery q{.workload_key = "conv2d-w0",
              .target_key = "cpu-x86_64-avx2-aaaa",
              .target_coarse_key = "cpu-x86_64-avx2",
              .k = 3};
  auto exact = Top(q);
  ASSERT_EQ(exact.size(), 1u);
  EXPECT_EQ(exact[0].target_key, "cpu-x86_64-avx2-aaaa");
  q.coarse_fallback = true;
  auto filled = Top(q);
  ASSERT_EQ(filled.size(), 3u);
  EXPECT_EQ(filled[0].target_key, "cpu-x86_64-avx2-aaaa") << "exact matches come first";
  EXPECT_EQ(filled[1].target_key, "cpu-x86_64-avx2-bbbb");
  EXPECT_EQ(filled[2].target_key, "cpu-x86_64-avx2-cccc");
}

TEST_P(StoreConformance, FrameworkVersionCompatibilityIsTheMajorVersion) {
  Put({MakeRecord({.version = "1.0", .median = 3e-3}),
       MakeRecord({.version = "1.2", .median = 2e-3}),
       MakeRecord({.version = "2.0", .median = 1e-3}),
       MakeRecord({.framework = "other", .median = 5e-4})});
  TopKQuery q{.workload_key = "conv2d-w0",
              .target_key = "cpu-x86_64-avx2-aaaa",
              .framework = "halide",
              .framework_version = "1.7",
              .k = 10};
  auto v1 = Top(q);
  ASSERT_EQ(v1.size(), 2u);
  EXPECT_EQ(v1[0].framework_version, "1.2");
  q.framework_version = "2.0";
  EXPECT_EQ(Top(q).size(), 1u);
  q.framework_version = "";
  EXPECT_EQ(Top(q).size(), 3u);
  q.framework = "";
  EXPECT_EQ(Top(q).size(), 4u);
}

TEST_P(StoreConformance, ScanFiltersAndKeepsInsertionOrder) {
  for (int i = 0; i < 10; ++i)
    Put({MakeRecord({.workload = i % 3,
                     .config = "{\"i\":" + std::to_string(i) + "}",
                     .status = i % 4 == 0 ? TrialStatus::kTimeout : TrialStatus::kOk})});
  std::vector<std::string> seen;
  ASSERT_TRUE(store_
                  ->Scan({.workload_key = "conv2d-w1"},
                         [&](const Record& r) {
                           seen.push_back(r.config_json);
                           return true;
                         })
                  .ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"{\"i\":1}", "{\"i\":4}", "{\"i\":7}"}));
  int n = 0;
  ASSERT_TRUE(store_->Scan({}, [&](const Record&) { return ++n < 4; }).ok());
  EXPECT_EQ(n, 4) << "returning false stops the scan";
  EXPECT_EQ(*store_->Count({.ok_only = true}), 7);
  EXPECT_EQ(*store_->Count({.op = "dense"}), 0);
}

TEST_P(StoreConformance, SummaryPerTargetAndOp) {
  Put({MakeRecord({.workload = 0, .median = 1e-3}), MakeRecord({.workload = 1, .median = 4e-3}),
       MakeRecord({.workload = 1, .status = TrialStatus::kMismatch}),
       MakeRecord({.workload = 0, .target = "gpu-sm90-x", .coarse = "gpu-sm90"})});
  auto rows = store_->Summarize();
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 2u);
  const StoreSummaryRow& cpu = (*rows)[0];
  EXPECT_EQ(cpu.target_key, "cpu-x86_64-avx2-aaaa");
  EXPECT_EQ(cpu.records, 3);
  EXPECT_EQ(cpu.ok_records, 2);
  EXPECT_EQ(cpu.workloads, 2);
  EXPECT_DOUBLE_EQ(cpu.best_gflops, 2e9 / 1e-3 / 1e9);
}

TEST_P(StoreConformance, MeasuredConfigsIncludeFailedTrials) {
  Put({MakeRecord({.config = "{\"a\":1}"}),
       MakeRecord({.config = "{\"a\":2}", .status = TrialStatus::kCrash}),
       MakeRecord({.version = "2.0", .config = "{\"a\":3}"})});
  auto got = store_->MeasuredConfigs("conv2d-w0", "cpu-x86_64-avx2-aaaa", "halide", "1.0");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, (std::set<std::string>{"{\"a\":1}", "{\"a\":2}"}));
}

TEST_P(StoreConformance, PruneKeepsTheBestAndNeverTouchesOtherVersions) {
  std::vector<Record> rs;
  for (int w = 0; w < 2; ++w)
    for (int i = 0; i < 5; ++i)
      rs.push_back(MakeRecord({.workload = w,
                               .config = "{\"i\":" + std::to_string(i) + "}",
                               .median = (5 - i) * 1e-3}));
  rs.push_back(MakeRecord({.status = TrialStatus::kCrash}));
  for (int i = 0; i < 3; ++i)
    rs.push_back(MakeRecord({.version = "0.9", .config = "{\"old\":" + std::to_string(i) + "}"}));
  ASSERT_EQ(Put(rs), 14);
  auto deleted = store_->Prune("halide", "1.0", 2);
  ASSERT_TRUE(deleted.ok()) << deleted.status().message();
  EXPECT_EQ(*deleted, 7);  // 3 per workload + the failed trial
  EXPECT_EQ(*store_->Count({.framework_version = "1.0"}), 4);
  EXPECT_EQ(*store_->Count({.framework_version = "0.9"}), 3);
  auto top = Top({.workload_key = "conv2d-w1", .target_key = "cpu-x86_64-avx2-aaaa", .k = 5});
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].median_s, 1e-3);
  EXPECT_EQ(top[1].median_s, 2e-3);
  EXPECT_EQ(
      Top({.workload_key = "conv2d-w0", .target_key = "cpu-x86_64-avx2-aaaa", .k = 10}).size(), 5u);
  ExpectBestRowsMatch(dsn_, "after the prune");
  EXPECT_FALSE(store_->Prune("halide", "1.0", -1).ok());
}

TEST_P(StoreConformance, DeleteRemovesWhatTheFilterSelectsAndRefusesEverything) {
  Put({MakeRecord({.version = "0.9", .config = "{\"a\":1}", .median = 1e-4}),
       MakeRecord({.version = "0.9", .config = "{\"a\":2}", .status = TrialStatus::kCrash}),
       MakeRecord({.version = "1.0", .config = "{\"a\":3}", .median = 2e-3})});
  EXPECT_FALSE(store_->Delete({}).ok()) << "an empty filter would empty the store";
  auto n = store_->Delete({.framework = "halide", .framework_version = "0.9"});
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(*n, 2);
  EXPECT_EQ(*store_->Count({}), 1);
  auto top = Top({.workload_key = "conv2d-w0", .target_key = "cpu-x86_64-avx2-aaaa", .k = 5});
  ASSERT_EQ(top.size(), 1u) << "deleted records are gone from top-k too";
  EXPECT_EQ(top[0].framework_version, "1.0");
  ExpectBestRowsMatch(dsn_, "after the delete");
}

// Three measurements of one config become one record with all nine times, oldest first; other
// configs, other versions and failed trials are left alone.
TEST_P(StoreConformance, MergeDuplicatesKeepsEveryTimeOfAConfig) {
  std::vector<Record> rs;
  for (int i = 0; i < 3; ++i)
    rs.push_back(MakeRecord({.config = "{\"same\":1}", .median = (3 - i) * 1e-3, .timestamp_us = 1000 + i}));
  rs.push_back(MakeRecord({.config = "{\"same\":1}", .status = TrialStatus::kCrash, .timestamp_us = 5}));
  rs.push_back(MakeRecord({.version = "2.0", .config = "{\"same\":1}", .median = 5e-3}));
  rs.push_back(MakeRecord({.config = "{\"other\":1}", .median = 4e-3}));
  ASSERT_EQ(Put(rs), 6);
  auto removed = store_->MergeDuplicates();
  ASSERT_TRUE(removed.ok()) << removed.status().message();
  EXPECT_EQ(*removed, 2);
  EXPECT_EQ(*store_->Count({}), 4);
  std::vector<Record> merged;
  ASSERT_TRUE(store_->Scan({.framework_version = "1.0", .ok_only = true}, [&](const Record& r) {
    if (r.config_json == "{\"same\":1}") merged.push_back(r);
    return true;
  }).ok());
  ASSERT_EQ(merged.size(), 1u);
  std::vector<double> want;
  for (int i = 0; i < 3; ++i)
    for (double t : rs[static_cast<size_t>(i)].times_s) want.push_back(t);
  EXPECT_EQ(merged[0].times_s, want);
  EXPECT_EQ(merged[0].timestamp_us, 1000);
  EXPECT_EQ(merged[0].median_s, 2e-3);
  EXPECT_DOUBLE_EQ(merged[0].gflops, 2e9 / 2e-3 / 1e9);
  EXPECT_EQ(merged[0].uid, merged[0].ComputeUid());
  auto top = Top({.workload_key = "conv2d-w0", .target_key = "cpu-x86_64-avx2-aaaa", .framework_version = "1",
                  .k = 5});
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].uid, merged[0].uid) << "top-k sees the merged record";
  ExpectBestRowsMatch(dsn_, "after the merge");
  EXPECT_EQ(*store_->MergeDuplicates(), 0) << "nothing left to merge";
}

// The check the tests above rely on sees a stale, emptied or missing best_rows row.
TEST_P(StoreConformance, BestRowsCheckNoticesAStaleRow) {
  if (GetParam() == "memory") GTEST_SKIP() << "no best_rows";
  std::vector<Record> rs;
  for (int i = 0; i < 20; ++i)
    rs.push_back(
        MakeRecord({.config = "{\"i\":" + std::to_string(i) + "}", .median = (20 - i) * 1e-4}));
  ASSERT_EQ(Put(rs), 20);
  ASSERT_TRUE(CheckBestRows(dsn_).ok());
  auto db = OpenSqlSession(dsn_);
  ASSERT_TRUE(db.ok()) << db.status().message();
  // The fastest record deleted behind the summary's back: its row is now stale.
  ASSERT_TRUE((*db)->Query("DELETE FROM records WHERE uid = $1", {rs.back().uid}).ok());
  EXPECT_FALSE(CheckBestRows(dsn_).ok());
  ASSERT_TRUE((*db)->ExecScript("UPDATE best_rows SET body = ''").ok());
  EXPECT_FALSE(CheckBestRows(dsn_).ok());
  ASSERT_TRUE((*db)->ExecScript("DELETE FROM best_rows").ok());
  EXPECT_FALSE(CheckBestRows(dsn_).ok());
}

// Quotes, semicolons, SQL comments and non-ASCII text are data, never SQL.
TEST_P(StoreConformance, HostileStringsAreStoredVerbatim) {
  const std::string nasty = "'; DROP TABLE records; -- \" \\ $1 ?1 é€😀 \t\n";
  Record r = MakeRecord({});
  r.workload_key = "conv2d-" + nasty;
  r.workload_json = R"({"op":"conv2d","name":"x'); DELETE FROM workloads; --"})";
  r.config_json = "{\"knob\":\"" + nasty + "\"}";
  r.error = nasty;
  r.provenance.host = "host'\"; SELECT 1";
  r.Finalize(2e9);
  ASSERT_EQ(Put({r, MakeRecord({})}), 2);
  auto top = Top({.workload_key = r.workload_key, .target_key = r.target_key, .k = 1});
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].workload_key, r.workload_key);
  EXPECT_EQ(top[0].workload_json, r.workload_json);
  EXPECT_EQ(top[0].config_json, r.config_json);
  EXPECT_EQ(top[0].error, nasty);
  EXPECT_EQ(top[0].provenance.host, r.provenance.host);
  EXPECT_EQ(top[0].uid, r.ComputeUid()) << "content read back is bit-identical";
  EXPECT_EQ(*store_->Count({}), 2) << "no statement was injected";
  ExpectBestRowsMatch(dsn_, "hostile strings");
}

// Export to JSON lines, import into a fresh store of the same kind, export again: the two files
// are byte-identical and importing twice adds nothing.
TEST_P(StoreConformance, ExportImportRoundTripIsBitExactAndIdempotent) {
  std::vector<Record> rs;
  const double awkward[] = {1e-3 / 3, 5e-324, 1.7976931348623157e308 / 1e300, 0.1 + 0.2,
                            123456.789e-9};
  for (int i = 0; i < 5; ++i) {
    Record r = MakeRecord({.workload = i, .median = awkward[i]});
    r.times_s.push_back(awkward[(i + 1) % 5]);
    r.Finalize(1.0 / 3.0);
    rs.push_back(r);
  }
  rs.push_back(MakeRecord({.status = TrialStatus::kBuildError}));
  Put(rs);
  auto export_all = [](RecordStore& s) {
    std::string out;
    EXPECT_TRUE(s.Scan({}, [&](const Record& r) {
                   out += CanonicalJson(r.ToJson()) + "\n";
                   return true;
                 }).ok());
    return out;
  };
  const std::string first = export_all(*store_);
  auto dsn = FreshDsn(GetParam());
  ASSERT_TRUE(dsn.ok());
  auto other = RecordStore::Open(*dsn);
  ASSERT_TRUE(other.ok()) << other.status().message();
  std::vector<Record> imported;
  size_t pos = 0;
  while (pos < first.size()) {
    size_t nl = first.find('\n', pos);
    auto rec = Record::FromJson(Json::parse(first.substr(pos, nl - pos)));
    ASSERT_TRUE(rec.ok()) << rec.status().message();
    imported.push_back(*rec);
    pos = nl + 1;
  }
  EXPECT_EQ(*(*other)->Put(imported), 6);
  EXPECT_EQ(*(*other)->Put(imported), 0) << "importing twice adds nothing";
  EXPECT_EQ(export_all(**other), first);
  for (size_t i = 0; i < rs.size(); ++i) EXPECT_EQ(imported[i].uid, rs[i].uid);
  ExpectBestRowsMatch(*dsn, "after the import");
  // Top-k reads the awkward doubles back bit-exact too (the SQL stores: from best_rows' text).
  for (int i = 0; i < 5; ++i) {
    auto top = (*other)->TopK({.workload_key = rs[static_cast<size_t>(i)].workload_key,
                               .target_key = rs[static_cast<size_t>(i)].target_key,
                               .k = 3});
    ASSERT_TRUE(top.ok() && top->size() == 1u) << "workload " << i;
    EXPECT_EQ((*top)[0].ComputeUid(), rs[static_cast<size_t>(i)].uid) << "workload " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreConformance,
                         ::testing::Values("memory", "sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace opal::store::testing
