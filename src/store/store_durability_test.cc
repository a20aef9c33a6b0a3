// What the shared backends must survive: many processes writing at once, stores made by an older
// schema, a PostgreSQL server restart, and bad DSNs or unreachable servers.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "opal/record_store.h"
#include "store/best_records.h"
#include "store/schema.h"
#include "store/sql_session.h"
#include "store/store_test_util.h"

namespace opal::store::testing {
namespace {

class SharedStore : public ::testing::TestWithParam<std::string> {};

// 4 processes x 30 transactions x 10 records into one store: every record arrives exactly once.
TEST_P(SharedStore, ConcurrentWritersFromSeveralProcessesLoseNothing) {
  auto dsn = FreshDsn(GetParam());
  ASSERT_TRUE(dsn.ok()) << dsn.status().message();
  ASSERT_TRUE(RecordStore::Open(*dsn).ok());
  constexpr int kProcs = 4, kBatches = 30, kPerBatch = 10;
  const std::vector<int> codes = RunInProcesses(kProcs, [&](int p) {
    auto s = RecordStore::Open(*dsn);  // each process opens its own connection
    if (!s.ok()) return 10;
    for (int b = 0; b < kBatches; ++b) {
      std::vector<Record> rs;
      for (int i = 0; i < kPerBatch; ++i)
        rs.push_back(MakeRecord({.workload = b % 7,
                                 .config = "{\"p\":" + std::to_string(p) +
                                           ",\"i\":" + std::to_string(b * kPerBatch + i) + "}",
                                 // ties on purpose: the summaries order them by uid
                                 .median = 1e-3 * (1 + (p * 7919 + b * 31 + i * 17) % 40)}));
      auto n = (*s)->Put(rs);
      if (!n.ok()) {
        fprintf(stderr, "writer %d: %s\n", p, n.status().message().c_str());
        return 11;
      }
      if (*n != kPerBatch) return 12;
    }
    return 0;
  });
  for (int code : codes) EXPECT_EQ(code, 0) << "a writer failed";
  auto s = RecordStore::Open(*dsn);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*(*s)->Count({}), kProcs * kBatches * kPerBatch);
  // Every group's one-row summary holds its best records although writers raced on it.
  Status rows = CheckBestRows(*dsn);
  EXPECT_TRUE(rows.ok()) << rows.message();
}

// 8 processes race on ONE group, each of their records faster than every record before it, so
// every Put changes the group's best row: the row must end holding the group's 16 fastest (two
// writers whose bodies were each computed without the other's record would leave one out), and
// on PostgreSQL no two writers may have deadlocked (writers of one group that trim its summary
// rows at once lock them in different orders; each deadlock costs a second and a retry).
TEST_P(SharedStore, ConcurrentWritersOfOneGroupLeaveItsBestRowWhole) {
  auto dsn = FreshDsn(GetParam());
  ASSERT_TRUE(dsn.ok()) << dsn.status().message();
  ASSERT_TRUE(RecordStore::Open(*dsn).ok());
  constexpr int kProcs = 8, kPuts = 40;
  const std::vector<int> codes = RunInProcesses(kProcs, [&](int p) {
    auto s = RecordStore::Open(*dsn);
    if (!s.ok()) return 10;
    for (int b = 0; b < kPuts; ++b) {
      const double median = 1e-3 * (1.0 + 1.0 / (1 + b * kProcs + p));
      auto n = (*s)->Put({MakeRecord(
          {.config = "{\"p\":" + std::to_string(p) + ",\"b\":" + std::to_string(b) + "}",
           .median = median})});
      if (!n.ok()) {
        fprintf(stderr, "writer %d: %s\n", p, n.status().message().c_str());
        return 11;
      }
    }
    return 0;
  });
  for (int code : codes) EXPECT_EQ(code, 0) << "a writer failed";
  Status rows = CheckBestRows(*dsn);
  EXPECT_TRUE(rows.ok()) << rows.message();
  if (GetParam() == "postgresql") {
    auto db = OpenSqlSession(*dsn);
    ASSERT_TRUE(db.ok()) << db.status().message();
    auto n =
        (*db)->Rows("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()");
    ASSERT_TRUE(n.ok() && n->size() == 1) << n.status().message();
    EXPECT_EQ(n->at(0).at(0), "0") << "writers of one group deadlocked";
  }
}

// A store written by schema version 1 (before framework_major existed) is migrated on open and
// its records answer version-compatible queries.
TEST_P(SharedStore, OlderSchemaIsMigratedOnOpen) {
  auto dsn = FreshDsn(GetParam());
  ASSERT_TRUE(dsn.ok()) << dsn.status().message();
  const char* v1_rows[] = {
      "INSERT INTO workloads (key, op, json) VALUES ('conv2d-w0', 'conv2d', '{}')",
      "INSERT INTO targets (key, coarse_key, canonical) VALUES ('cpu-a', 'cpu', 'cpu')",
      "INSERT INTO records (uid, workload_id, target_id, framework, framework_version, config, "
      "status, error, "
      "times, median_s, gflops, opal_version, compiler, halide_version, llvm_version, host, "
      "worker_id, "
      "timestamp_us) VALUES ('u1', 1, 1, 'halide', '3.4', '{}', 'ok', '', '[0.5]', 0.5, 1.0, "
      "'0.0.1', 'gcc', "
      "'14', '14', 'h', 'w', 1)"};
  {
    auto old = OpenSqlSession(*dsn, /*max_version=*/1);
    ASSERT_TRUE(old.ok()) << old.status().message();
    EXPECT_EQ(*ReadSchemaVersion(**old), 1);
    for (const char* sql : v1_rows) ASSERT_TRUE((*old)->ExecScript(sql).ok()) << sql;
  }
  auto s = RecordStore::Open(*dsn);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(*(*s)->SchemaVersion(), CurrentSchemaVersion());
  auto top = (*s)->TopK({.workload_key = "conv2d-w0",
                         .target_key = "cpu-a",
                         .framework = "halide",
                         .framework_version = "3.9",
                         .k = 5});
  ASSERT_TRUE(top.ok()) << top.status().message();
  ASSERT_EQ(top->size(), 1u);
  EXPECT_EQ((*top)[0].median_s, 0.5);
  Status rows = CheckBestRows(*dsn);
  EXPECT_TRUE(rows.ok()) << rows.message();
}

// A store of schema 6 (best_records, no best_rows) is migrated in place on open: every group's
// row is filled from its summary, and lookups read it.
TEST_P(SharedStore, Schema6IsMigratedInPlace) {
  auto dsn = FreshDsn(GetParam());
  ASSERT_TRUE(dsn.ok()) << dsn.status().message();
  {
    auto old = OpenSqlSession(*dsn, /*max_version=*/6);
    ASSERT_TRUE(old.ok()) << old.status().message();
    EXPECT_EQ(*ReadSchemaVersion(**old), 6);
    SqlSession& db = **old;
    ASSERT_TRUE(
        db.ExecScript("INSERT INTO workloads (key, op, json) VALUES ('conv2d-w0', 'conv2d', '{}'), "
                      "('conv2d-w1', 'conv2d', '{}')")
            .ok());
    ASSERT_TRUE(
        db.ExecScript(
              "INSERT INTO targets (key, coarse_key, canonical) VALUES ('cpu-a', 'cpu', 'cpu')")
            .ok());
    // 40 records: 2 workloads x 2 versions x 10, one failed in 5, medians with ties.
    for (int i = 0; i < 40; ++i) {
      const std::string version = i % 2 ? "3.4" : "4.0";
      ASSERT_TRUE(
          db.Query(
                "INSERT INTO records (uid, workload_id, target_id, framework, framework_version, "
                "framework_major, config, status, error, times, median_s, gflops, opal_version, "
                "compiler, halide_version, llvm_version, host, worker_id, timestamp_us) VALUES "
                "($1, $2, "
                "1, 'halide', $3, $4, '{}', $5, '', '[0.5]', $6, 1.0, '0.0.1', 'gcc', '14', '14', "
                "'h', 'w', $7)",
                {"u" + std::to_string(i), int64_t{1 + i % 4 / 2}, version, version.substr(0, 1),
                 std::string(i % 5 == 4 ? "crash" : "ok"), 1e-3 * (1 + (i * 7) % 9), int64_t{i}})
              .ok());
    }
    ASSERT_TRUE(db.Transaction([&] { return RebuildBestRecordsTable(db); }).ok());
  }
  auto s = RecordStore::Open(*dsn);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(*(*s)->SchemaVersion(), CurrentSchemaVersion());
  Status rows = CheckBestRows(*dsn);
  EXPECT_TRUE(rows.ok()) << rows.message();
  auto top = (*s)->TopK(
      {.workload_key = "conv2d-w1", .target_key = "cpu-a", .framework = "halide", .k = 20});
  ASSERT_TRUE(top.ok()) << top.status().message();
  auto small = (*s)->TopK(
      {.workload_key = "conv2d-w1", .target_key = "cpu-a", .framework = "halide", .k = 3});
  ASSERT_TRUE(small.ok()) << small.status().message();
  ASSERT_EQ(top->size(), 16u);  // 20 records of the workload, 4 failed
  ASSERT_EQ(small->size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ((*small)[i].uid, (*top)[i].uid) << i;
  for (size_t i = 1; i < top->size(); ++i) EXPECT_LE((*top)[i - 1].median_s, (*top)[i].median_s);
}

TEST_P(SharedStore, NewerSchemaIsRefusedWithAClearMessage) {
  auto dsn = FreshDsn(GetParam());
  ASSERT_TRUE(dsn.ok());
  ASSERT_TRUE(RecordStore::Open(*dsn).ok());
  const std::string bump = "UPDATE meta SET value = '99' WHERE key = 'schema_version'";
  ASSERT_TRUE((*OpenSqlSession(*dsn))->ExecScript(bump).ok());
  auto s = RecordStore::Open(*dsn);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("newer than this opal"), std::string::npos)
      << s.status().message();
}

INSTANTIATE_TEST_SUITE_P(Backends, SharedStore, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

// A client keeps working across a server restart: the next transaction reconnects.
TEST(PostgresStore, SurvivesAServerRestart) {
  auto dsn = FreshDsn("postgresql");
  ASSERT_TRUE(dsn.ok()) << dsn.status().message();
  auto s = RecordStore::Open(*dsn);
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(*(*s)->Put({MakeRecord({.config = "{\"before\":1}"})}), 1);
  const std::string cmd =
      std::string(OPAL_SOURCE_DIR) + "/scripts/pg-test-server.sh restart " + PgFixtureDir();
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  auto n = (*s)->Put({MakeRecord({.config = "{\"after\":1}"})});
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(*n, 1);
  EXPECT_EQ(*(*s)->Count({}), 2);
}

TEST(StoreErrors, BadDsnsAreInvalidArguments) {
  for (const char* dsn : {"", "mysql://localhost/db", "records.db", "sqlite:", "postgresql://"}) {
    auto s = RecordStore::Open(dsn);
    ASSERT_FALSE(s.ok()) << dsn;
    EXPECT_EQ(s.status().code(), ErrorCode::kInvalidArgument)
        << dsn << ": " << s.status().message();
    EXPECT_NE(s.status().message().find("sqlite:PATH"), std::string::npos) << s.status().message();
  }
  auto bad_uri = RecordStore::Open("postgresql://u:pw@host:notaport/db");
  ASSERT_FALSE(bad_uri.ok());
  EXPECT_EQ(bad_uri.status().message().find("pw@"), std::string::npos)
      << bad_uri.status().message();
}

TEST(StoreErrors, UnreachableServerIsUnavailableAndHidesThePassword) {
  auto s = RecordStore::Open("postgresql://opal:hunter2secret@127.0.0.1:1/records");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(s.status().message().find("hunter2secret"), std::string::npos) << s.status().message();
  EXPECT_NE(s.status().message().find("127.0.0.1"), std::string::npos) << s.status().message();
  EXPECT_EQ(RecordStore::RedactDsn("postgresql://a:b@h/d?password=zz"),
            "postgresql://a:***@h/d?password=***");
}

TEST(StoreErrors, AFileThatIsNotAStoreIsRefused) {
  auto path =
      std::filesystem::temp_directory_path() / ("opal_not_a_store_" + std::to_string(getpid()));
  FILE* f = fopen(path.c_str(), "w");
  fputs("this is not a database, it is a text file long enough to have a header page......", f);
  fclose(f);
  auto s = RecordStore::Open("sqlite:" + path.string());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("not an opal store"), std::string::npos)
      << s.status().message();
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace opal::store::testing
