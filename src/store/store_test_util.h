// Test support for the store (target opal_store_testing): records with chosen fields, and fresh
// stores of each backend, for the store's tests and bench/store. Linking opal_store_testing makes
// this one header visible as "store/store_test_util.h" (a copy in the build tree): it gives no
// access to the store's private headers. PostgreSQL stores need the test server started by CTest's
// fixture (scripts/pg-test-server.sh); each call makes a new database on it.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "opal/record_store.h"

namespace opal::store::testing {

struct RecordSpec {
  int workload = 0;  // workload index: key "conv2d-w<N>"
  std::string target = "cpu-x86_64-avx2-aaaa";
  std::string coarse = "cpu-x86_64-avx2";
  std::string framework = "halide";
  std::string version = "1.0";
  std::string config = R"({"tile":8})";
  double median = 1e-3;
  TrialStatus status = TrialStatus::kOk;
  int64_t timestamp_us = 1700000000000000;
};
// A finalized record: times are {median*0.9, median, median*1.3}.
Record MakeRecord(const RecordSpec& s);

// Directory of the CTest PostgreSQL fixture and the DSN of its server ("" when not running).
std::string PgFixtureDir();
std::string PgServerDsn();

// A DSN for a fresh, empty store: "memory:", a new SQLite file under a temp dir, or a new
// database on the test PostgreSQL server. kind: "memory" | "sqlite" | "postgresql".
Result<std::string> FreshDsn(const std::string& kind);
// A fresh, empty store of that kind (FreshDsn, then RecordStore::Open).
Result<std::unique_ptr<RecordStore>> FreshStore(const std::string& kind);

// Creates database `name` (lower-case letters, digits, '_') on the PostgreSQL server of
// `server_dsn` and returns the DSN of that database. kUnavailable when the server cannot be
// reached, kInternal when the database exists already.
Result<std::string> NewPostgresDatabase(const std::string& server_dsn, const std::string& name);

// For a SQL store: Ok when every best_rows row holds exactly its group's fastest valid records
// (the kBestInRow first by (median_s, uid), every field bit-exact as in records) and every group
// with a valid record has its row; else kFailed naming the first difference. Tests call it after
// each kind of change to the records.
Status CheckBestRows(const std::string& dsn);

// Bytes the PostgreSQL database of `dsn` takes on disk (pg_database_size: tables, indexes, TOAST).
Result<double> DatabaseBytes(const std::string& dsn);

// Microseconds of each of `n` round trips of a prepared "SELECT 1" to the store of `dsn`: the
// floor under any lookup (for benchmarks).
Result<std::vector<double>> RoundTripMicros(const std::string& dsn, int n);

// Runs body(0) .. body(n - 1) each in its own forked process (each opens its own connections)
// and waits for all of them; returns each one's exit code (what body returned), or -1 for a
// process that did not exit normally (a signal).
std::vector<int> RunInProcesses(int n, const std::function<int(int)>& body);

}  // namespace opal::store::testing
