#include "store/schema.h"

#include <string>

#include "opal/record.h"
#include "store/best_records.h"
#include "store/best_rows.h"
#include "store/sql_session.h"

namespace opal::store {
namespace {

using T = SqlType;

struct Column {
  int since;
  const char* name;
  SqlType type;
  const char* rest;  // constraints and default, e.g. "NOT NULL UNIQUE"
};

struct Table {
  int since;
  const char* name;
  std::vector<Column> columns;
  const char* constraint = nullptr;  // a table constraint, e.g. "UNIQUE (job_id, workload_key)"
  bool clustered = false;            // stored in primary-key order (SqlDialect::clustered)
};

struct Index {
  int since;
  const char* name;
  const char* table;
  const char* columns;
  int dropped = 0;              // the version that dropped it (0 = still there)
  const char* where = nullptr;  // a partial index: only the rows this condition holds for
};

// The whole schema. Version 1: workloads, targets, records (every trial, with provenance).
// 2: the framework's major version as a column (compatible lookups without string functions)
// and the top-k index. 3: the task queue (docs/distributed.md). 4: the cost-model registry.
// 5: lost holders of a task counted apart from its attempts, leases indexed for reclaiming.
// 6: the best-record summary (best_records.h), stored in the order of its groups; records_by_key
// dropped (records_topk starts with the same columns). 7: the one-row best-k summary
// (best_rows.h): a group's fastest records in one row, a lookup reads one row per group.
// 8: the pending tasks indexed in the order a worker takes them, so Acquire reads the first one
// instead of sorting every pending task (5.8 ms of server CPU per call with 7,000 pending);
// records_by_version dropped.
const std::vector<Table>& Tables() {
  static const std::vector<Table> tables = {
      {1,
       "workloads",
       {{1, "id", T::kId, ""},
        {1, "key", T::kText, "NOT NULL UNIQUE"},
        {1, "op", T::kText, "NOT NULL"},
        {1, "json", T::kText, "NOT NULL"}}},
      {1,
       "targets",
       {{1, "id", T::kId, ""},
        {1, "key", T::kText, "NOT NULL UNIQUE"},
        {1, "coarse_key", T::kText, "NOT NULL"},
        {1, "canonical", T::kText, "NOT NULL"}}},
      {1,
       "records",
       {{1, "id", T::kId, ""},
        {1, "uid", T::kText, "NOT NULL UNIQUE"},
        {1, "workload_id", T::kBigInt, "NOT NULL REFERENCES workloads(id)"},
        {1, "target_id", T::kBigInt, "NOT NULL REFERENCES targets(id)"},
        {1, "framework", T::kText, "NOT NULL"},
        {1, "framework_version", T::kText, "NOT NULL"},
        {1, "config", T::kText, "NOT NULL"},
        {1, "status", T::kText, "NOT NULL"},
        {1, "error", T::kText, "NOT NULL"},
        {1, "times", T::kText, "NOT NULL"},
        {1, "median_s", T::kReal, "NOT NULL"},
        {1, "gflops", T::kReal, "NOT NULL"},
        {1, "opal_version", T::kText, "NOT NULL"},
        {1, "compiler", T::kText, "NOT NULL"},
        {1, "halide_version", T::kText, "NOT NULL"},
        {1, "llvm_version", T::kText, "NOT NULL"},
        {1, "host", T::kText, "NOT NULL"},
        {1, "worker_id", T::kText, "NOT NULL"},
        {1, "timestamp_us", T::kBigInt, "NOT NULL"},
        {2, "framework_major", T::kText, "NOT NULL DEFAULT ''"}}},
      {3,
       "jobs",
       {{3, "id", T::kText, "PRIMARY KEY"},
        {3, "name", T::kText, "NOT NULL"},
        {3, "spec", T::kText, "NOT NULL"},
        {3, "created_us", T::kBigInt, "NOT NULL"}}},
      {3,
       "tasks",
       {{3, "id", T::kId, ""},
        {3, "job_id", T::kText, "NOT NULL REFERENCES jobs(id)"},
        {3, "seq", T::kInteger, "NOT NULL"},
        {3, "workload_key", T::kText, "NOT NULL"},
        {3, "workload_json", T::kText, "NOT NULL"},
        {3, "target_key", T::kText, "NOT NULL"},
        {3, "target", T::kText, "NOT NULL"},
        {3, "framework", T::kText, "NOT NULL"},
        {3, "framework_version", T::kText, "NOT NULL"},
        {3, "framework_major", T::kText, "NOT NULL"},
        {3, "settings", T::kText, "NOT NULL"},
        {3, "state", T::kText, "NOT NULL"},
        {3, "attempts", T::kInteger, "NOT NULL"},
        {3, "max_attempts", T::kInteger, "NOT NULL"},
        {3, "lease_owner", T::kText, "NOT NULL"},
        {3, "lease_expires_us", T::kBigInt, "NOT NULL"},
        {3, "last_error", T::kText, "NOT NULL"},
        {3, "trials", T::kBigInt, "NOT NULL"},
        {3, "best_s", T::kReal, "NOT NULL"},
        {3, "updated_us", T::kBigInt, "NOT NULL"},
        {5, "lost", T::kInteger, "NOT NULL DEFAULT 0"},
        {5, "max_lost", T::kInteger, "NOT NULL DEFAULT 10"}},
       "UNIQUE (job_id, workload_key)"},
      {3,
       "workers",
       {{3, "id", T::kText, "PRIMARY KEY"},
        {3, "host", T::kText, "NOT NULL"},
        {3, "target_key", T::kText, "NOT NULL"},
        {3, "state", T::kText, "NOT NULL"},
        {3, "last_seen_us", T::kBigInt, "NOT NULL"},
        {3, "tasks_done", T::kBigInt, "NOT NULL"}}},
      {6,
       "best_records",
       {{6, "record_id", T::kBigInt, "NOT NULL UNIQUE"},
        {6, "workload_id", T::kBigInt, "NOT NULL"},
        {6, "target_id", T::kBigInt, "NOT NULL"},
        {6, "framework", T::kText, "NOT NULL"},
        {6, "framework_major", T::kText, "NOT NULL"},
        {6, "median_s", T::kReal, "NOT NULL"},
        {6, "uid", T::kText, "NOT NULL"},
        {6, "framework_version", T::kText, "NOT NULL"},
        {6, "config", T::kText, "NOT NULL"},
        {6, "error", T::kText, "NOT NULL"},
        {6, "times", T::kText, "NOT NULL"},
        {6, "gflops", T::kReal, "NOT NULL"},
        {6, "opal_version", T::kText, "NOT NULL"},
        {6, "compiler", T::kText, "NOT NULL"},
        {6, "halide_version", T::kText, "NOT NULL"},
        {6, "llvm_version", T::kText, "NOT NULL"},
        {6, "host", T::kText, "NOT NULL"},
        {6, "worker_id", T::kText, "NOT NULL"},
        {6, "timestamp_us", T::kBigInt, "NOT NULL"}},
       "PRIMARY KEY (workload_id, target_id, framework, framework_major, median_s, uid)",
       /*clustered=*/true},
      {7,
       "best_rows",
       {{7, "workload_id", T::kBigInt, "NOT NULL"},
        {7, "target_id", T::kBigInt, "NOT NULL"},
        {7, "framework", T::kText, "NOT NULL"},
        {7, "framework_major", T::kText, "NOT NULL"},
        {7, "body", T::kText, "NOT NULL"}},
       "PRIMARY KEY (workload_id, target_id, framework, framework_major)"},
      {4,
       "cost_models",
       {{4, "name", T::kText, "PRIMARY KEY"},
        {4, "framework", T::kText, "NOT NULL"},
        {4, "feature_version", T::kText, "NOT NULL"},
        {4, "meta", T::kText, "NOT NULL"},
        {4, "sha256", T::kText, "NOT NULL"},
        {4, "created_us", T::kBigInt, "NOT NULL"},
        {4, "body", T::kText, "NOT NULL"}}},
  };
  return tables;
}

const std::vector<Index>& Indexes() {
  static const std::vector<Index> indexes = {
      {1, "records_by_key", "records", "workload_id, target_id", /*dropped=*/6},
      {1, "targets_by_coarse", "targets", "coarse_key"},
      {2, "records_topk", "records", "workload_id, target_id, status, median_s"},
      // Dropped by 8: a fresh store's planner (no statistics yet) read a workload's measured
      // configs through it, every record of the framework version (9 ms per call at 5,500
      // records, the most of a fleet's queue); the bulk operations by version scan anyway.
      {2, "records_by_version", "records", "framework, framework_version", 8},
      {3, "tasks_ready", "tasks", "target_key, state, seq"},
      {5, "tasks_by_lease", "tasks", "state, lease_expires_us"},
      // Narrow rows of the summary's order (its table rows are whole records): counting the rows
      // that beat a new record and trimming a group read these instead of the records.
      {6, "best_records_rank", "best_records",
       "workload_id, target_id, framework, framework_major, median_s, uid, record_id"},
      // Acquire's order (seq, id) among the pending tasks of its target and framework; the
      // entry of a task leaves the index when it stops being pending.
      {8, "tasks_pending", "tasks", "target_key, framework, framework_major, seq, id", 0,
       "state = 'pending'"},
  };
  return indexes;
}

// Version 2's data step: framework_major of the records written before the column existed.
Status BackfillFrameworkMajor(SqlSession& db) {
  OPAL_ASSIGN_OR_RETURN(auto versions, db.Rows("SELECT DISTINCT framework_version FROM records"));
  for (const auto& v : versions) {
    OPAL_RETURN_IF_ERROR(
        db.Query("UPDATE records SET framework_major = $1 WHERE framework_version = $2",
                 {FrameworkMajorVersion(v[0]), v[0]}));
  }
  return Status::Ok();
}

struct DataStep {
  int version;
  Status (*run)(SqlSession&);
};
Status FillBestRecords(SqlSession& db) { return RebuildBestRecordsTable(db); }
// Version 7's data step. PostgreSQL keeps a body in its row up to a page (toast_tuple_target):
// by default a row over 2 kB has its body compressed or moved to the TOAST table, and reading
// it back (a second index probe, decompression) cost as much as the rest of a lookup.
Status FillBestRows(SqlSession& db) {
  if (db.dialect().postgres) {
    OPAL_RETURN_IF_ERROR(
        db.ExecScript("ALTER TABLE best_rows SET (toast_tuple_target = 8160); ALTER TABLE "
                      "best_rows ALTER COLUMN body SET STORAGE MAIN"));
  }
  return RebuildBestRows(db, {});
}

constexpr DataStep kDataSteps[] = {
    {2, BackfillFrameworkMajor}, {6, FillBestRecords}, {7, FillBestRows}};

constexpr Migration kMigrations[] = {
    {1, "workloads, targets, records"},
    {2, "framework_major column, top-k and version indexes"},
    {3, "task queue: jobs, tasks with leases, workers"},
    {4, "cost-model registry"},
    {5, "task queue: lost holders counted apart from attempts, index of leases"},
    {6, "best-record summary for top-k lookups"},
    {7, "one-row best-k summary per group"},
    {8,
     "task queue: pending tasks indexed in the order they are taken; records_by_version dropped"},
};

std::string ColumnDdl(const Column& c, const SqlDialect& d) {
  std::string s = std::string(c.name) + " " + std::string(d.TypeName(c.type));
  if (*c.rest) s += std::string(" ") + c.rest;
  return s;
}

}  // namespace

std::span<const Migration> Migrations() { return kMigrations; }
int CurrentSchemaVersion() { return kMigrations[std::size(kMigrations) - 1].version; }

std::vector<std::string> MigrationDdl(int version, const SqlDialect& d) {
  std::vector<std::string> out;
  for (const Table& t : Tables()) {
    if (t.since == version) {
      std::string s = std::string("CREATE TABLE ") + t.name + " (";
      bool first = true;
      for (const Column& c : t.columns) {
        if (c.since > version) continue;
        s += (first ? "" : ", ") + ColumnDdl(c, d);
        first = false;
      }
      if (t.constraint) s += std::string(", ") + t.constraint;
      out.push_back(s + ")" + std::string(t.clustered ? d.clustered : ""));
    } else if (t.since < version) {
      for (const Column& c : t.columns)
        if (c.since == version)
          out.push_back(std::string("ALTER TABLE ") + t.name + " ADD COLUMN " + ColumnDdl(c, d));
    }
  }
  for (const Index& i : Indexes()) {
    if (i.since == version)
      out.push_back(std::string("CREATE INDEX ") + i.name + " ON " + i.table + " (" + i.columns +
                    ")" + (i.where ? std::string(" WHERE ") + i.where : std::string()));
    if (i.dropped == version) out.push_back(std::string("DROP INDEX IF EXISTS ") + i.name);
  }
  return out;
}

Result<int> ReadSchemaVersion(SqlSession& db) {
  int version = 0;
  OPAL_RETURN_IF_ERROR(
      db.Query("SELECT value FROM meta WHERE key = 'schema_version'", {}, [&](const SqlRowView& r) {
        version = std::stoi(r.Text(0));
        return false;
      }));
  return version;
}

Status Migrate(SqlSession& db, int max_version) {
  const int target = max_version > 0 ? max_version : CurrentSchemaVersion();
  // The common case, a store already at this version, costs one read. A new database has no
  // meta table yet: the read fails and the migrations below create it under the lock.
  int current = 0;
  OPAL_RETURN_IF_ERROR(db.Read([&]() -> Status {
    Result<int> v = ReadSchemaVersion(db);
    if (!v.ok() && v.status().code() == ErrorCode::kUnavailable) return v.status();
    current = v.ok() ? *v : 0;
    return Status::Ok();
  }));
  for (const Migration& m : Migrations()) {
    if (m.version > target || m.version <= current) continue;
    OPAL_RETURN_IF_ERROR(db.Transaction([&]() -> Status {
      if (!db.dialect().migration_lock.empty())
        OPAL_RETURN_IF_ERROR(db.ExecScript(std::string(db.dialect().migration_lock)));
      OPAL_RETURN_IF_ERROR(db.ExecScript(
          "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"));
      OPAL_ASSIGN_OR_RETURN(int now, ReadSchemaVersion(db));
      if (now >= m.version) return Status::Ok();  // another process got there first
      for (const std::string& ddl : MigrationDdl(m.version, db.dialect()))
        OPAL_RETURN_IF_ERROR(
            db.ExecScript(ddl).WithContext("migrating to schema " + std::to_string(m.version)));
      for (const DataStep& step : kDataSteps)
        if (step.version == m.version) OPAL_RETURN_IF_ERROR(step.run(db));
      return db.Query("INSERT INTO meta (key, value) VALUES ('schema_version', $1)" +
                          OnConflict("key", {"value"}),
                      {std::to_string(m.version)});
    }));
  }
  int version = 0;
  OPAL_RETURN_IF_ERROR(db.Read([&]() -> Status {
    OPAL_ASSIGN_OR_RETURN(version, ReadSchemaVersion(db));
    return Status::Ok();
  }));
  if (version > CurrentSchemaVersion()) {
    return Error(ErrorCode::kFailed,
                 "store {} has schema version {}, newer than this opal understands ({}); "
                 "upgrade opal",
                 db.Describe(), version, CurrentSchemaVersion());
  }
  return Status::Ok();
}

}  // namespace opal::store
