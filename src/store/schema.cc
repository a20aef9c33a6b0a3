#include "store/schema.h"

namespace opal::store {
namespace {

// Version 1: workloads, targets and records (every trial, with provenance).
constexpr const char* kV1Sqlite = R"sql(
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE workloads (
  id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, op TEXT NOT NULL, json TEXT NOT NULL);
CREATE TABLE targets (
  id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, coarse_key TEXT NOT NULL, canonical TEXT NOT NULL);
CREATE TABLE records (
  id INTEGER PRIMARY KEY,
  uid TEXT NOT NULL UNIQUE,
  workload_id INTEGER NOT NULL REFERENCES workloads(id),
  target_id INTEGER NOT NULL REFERENCES targets(id),
  framework TEXT NOT NULL, framework_version TEXT NOT NULL,
  config TEXT NOT NULL, status TEXT NOT NULL, error TEXT NOT NULL,
  times TEXT NOT NULL, median_s REAL NOT NULL, gflops REAL NOT NULL,
  opal_version TEXT NOT NULL, compiler TEXT NOT NULL, halide_version TEXT NOT NULL,
  llvm_version TEXT NOT NULL, host TEXT NOT NULL, worker_id TEXT NOT NULL,
  timestamp_us INTEGER NOT NULL);
CREATE INDEX records_by_key ON records (workload_id, target_id);
CREATE INDEX targets_by_coarse ON targets (coarse_key)
)sql";

constexpr const char* kV1Postgres = R"sql(
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE workloads (
  id BIGSERIAL PRIMARY KEY, key TEXT NOT NULL UNIQUE, op TEXT NOT NULL, json TEXT NOT NULL);
CREATE TABLE targets (
  id BIGSERIAL PRIMARY KEY, key TEXT NOT NULL UNIQUE, coarse_key TEXT NOT NULL, canonical TEXT NOT NULL);
CREATE TABLE records (
  id BIGSERIAL PRIMARY KEY,
  uid TEXT NOT NULL UNIQUE,
  workload_id BIGINT NOT NULL REFERENCES workloads(id),
  target_id BIGINT NOT NULL REFERENCES targets(id),
  framework TEXT NOT NULL, framework_version TEXT NOT NULL,
  config TEXT NOT NULL, status TEXT NOT NULL, error TEXT NOT NULL,
  times TEXT NOT NULL, median_s DOUBLE PRECISION NOT NULL, gflops DOUBLE PRECISION NOT NULL,
  opal_version TEXT NOT NULL, compiler TEXT NOT NULL, halide_version TEXT NOT NULL,
  llvm_version TEXT NOT NULL, host TEXT NOT NULL, worker_id TEXT NOT NULL,
  timestamp_us BIGINT NOT NULL);
CREATE INDEX records_by_key ON records (workload_id, target_id);
CREATE INDEX targets_by_coarse ON targets (coarse_key)
)sql";

// Version 2: the framework's major version as a column (version-compatible lookups without string
// functions in the query) and a covering index for top-k: (workload, target, status, median).
constexpr const char* kV2Sqlite = R"sql(
ALTER TABLE records ADD COLUMN framework_major TEXT NOT NULL DEFAULT '';
UPDATE records SET framework_major = CASE WHEN instr(framework_version, '.') > 0
  THEN substr(framework_version, 1, instr(framework_version, '.') - 1) ELSE framework_version END;
CREATE INDEX records_topk ON records (workload_id, target_id, status, median_s);
CREATE INDEX records_by_version ON records (framework, framework_version)
)sql";

constexpr const char* kV2Postgres = R"sql(
ALTER TABLE records ADD COLUMN framework_major TEXT NOT NULL DEFAULT '';
UPDATE records SET framework_major = split_part(framework_version, '.', 1);
CREATE INDEX records_topk ON records (workload_id, target_id, status, median_s);
CREATE INDEX records_by_version ON records (framework, framework_version)
)sql";

constexpr Migration kMigrations[] = {
    {1, "workloads, targets, records", kV1Sqlite, kV1Postgres},
    {2, "framework_major column, top-k and version indexes", kV2Sqlite, kV2Postgres},
};

}  // namespace

std::span<const Migration> Migrations() { return kMigrations; }
int CurrentSchemaVersion() { return kMigrations[std::size(kMigrations) - 1].version; }

}  // namespace opal::store
