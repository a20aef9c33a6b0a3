#include "store/schema.h"

#include <string>
#include <vector>

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

// Version 3: the task queue -- jobs, their tasks with leases, and the workers seen.
constexpr const char* kV3Common = R"sql(
CREATE TABLE jobs (id TEXT PRIMARY KEY, name TEXT NOT NULL, spec TEXT NOT NULL, created_us BIGINT NOT NULL);
CREATE TABLE tasks (
  id %ID%,
  job_id TEXT NOT NULL REFERENCES jobs(id),
  seq INTEGER NOT NULL,
  workload_key TEXT NOT NULL, workload_json TEXT NOT NULL,
  target_key TEXT NOT NULL, target TEXT NOT NULL,
  framework TEXT NOT NULL, framework_version TEXT NOT NULL, framework_major TEXT NOT NULL,
  settings TEXT NOT NULL,
  state TEXT NOT NULL, attempts INTEGER NOT NULL, max_attempts INTEGER NOT NULL,
  lease_owner TEXT NOT NULL, lease_expires_us BIGINT NOT NULL, last_error TEXT NOT NULL,
  trials BIGINT NOT NULL, best_s %REAL% NOT NULL, updated_us BIGINT NOT NULL,
  UNIQUE (job_id, workload_key));
CREATE INDEX tasks_ready ON tasks (target_key, state, seq);
CREATE TABLE workers (
  id TEXT PRIMARY KEY, host TEXT NOT NULL, target_key TEXT NOT NULL, state TEXT NOT NULL,
  last_seen_us BIGINT NOT NULL, tasks_done BIGINT NOT NULL)
)sql";

std::string V3(bool postgres) {
  std::string s = kV3Common;
  auto put = [&](const std::string& k, const std::string& v) { s.replace(s.find(k), k.size(), v); };
  put("%ID%", postgres ? "BIGSERIAL PRIMARY KEY" : "INTEGER PRIMARY KEY");
  put("%REAL%", postgres ? "DOUBLE PRECISION" : "REAL");
  return s;
}
const std::string kV3Sqlite = V3(false);
const std::string kV3Postgres = V3(true);

// Version 4: the cost-model registry (opal/cost_model_registry.h): a model file's text by name.
constexpr const char* kV4 = R"sql(
CREATE TABLE cost_models (
  name TEXT PRIMARY KEY, framework TEXT NOT NULL, feature_version TEXT NOT NULL, meta TEXT NOT NULL,
  sha256 TEXT NOT NULL, created_us BIGINT NOT NULL, body TEXT NOT NULL)
)sql";

constexpr Migration kMigrations[] = {
    {1, "workloads, targets, records", kV1Sqlite, kV1Postgres},
    {2, "framework_major column, top-k and version indexes", kV2Sqlite, kV2Postgres},
    {3, "task queue: jobs, tasks with leases, workers", nullptr, nullptr},
    {4, "cost-model registry", kV4, kV4},
};

}  // namespace

std::span<const Migration> Migrations() {
  static const std::vector<Migration> all = [] {
    std::vector<Migration> v(std::begin(kMigrations), std::end(kMigrations));
    v[2].sqlite = kV3Sqlite.c_str();
    v[2].postgres = kV3Postgres.c_str();
    return v;
  }();
  return all;
}
int CurrentSchemaVersion() { return kMigrations[std::size(kMigrations) - 1].version; }

}  // namespace opal::store
