#include "store/postgres_store.h"

#include <map>

#include "store/dsn.h"
#include "store/pg_conn.h"
#include "store/record_writer.h"
#include "store/schema.h"
#include "store/sql_common.h"
#include "store/store_util.h"

namespace opal::store {
namespace {

constexpr const char* kMigrationLock = "SELECT pg_advisory_xact_lock(7170616)";  // serializes openers

Status Migrate(PgConn& db, int max_version) {
  for (const Migration& m : Migrations()) {
    if (max_version > 0 && m.version > max_version) break;
    OPAL_RETURN_IF_ERROR(db.Transaction([&]() -> Status {
      OPAL_RETURN_IF_ERROR(db.Exec(kMigrationLock).status());
      OPAL_RETURN_IF_ERROR(db.Exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                               .status());
      OPAL_ASSIGN_OR_RETURN(auto v, db.Exec("SELECT value FROM meta WHERE key = 'schema_version'"));
      const int current = v.Rows() ? std::stoi(v.Text(0, 0)) : 0;
      if (current >= m.version) return Status::Ok();
      OPAL_RETURN_IF_ERROR(db.Exec(m.postgres).status().WithContext("migrating to schema " +
                                                                     std::to_string(m.version)));
      return db.Exec("INSERT INTO meta (key, value) VALUES ('schema_version', $1) "
                     "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                     {std::to_string(m.version)})
          .status();
    }));
  }
  return Status::Ok();
}

Result<Record> Read(const PgResult& res, int row) {
  return RowToRecord({[&](int i) { return res.Text(row, i); }, [&](int i) { return res.Real(row, i); },
                      [&](int i) { return res.Int(row, i); }});
}

class PostgresStore final : public RecordStore {
 public:
  explicit PostgresStore(std::unique_ptr<PgConn> db) : db_(std::move(db)) {}

  std::string Describe() const override { return db_->redacted(); }

  Result<int> SchemaVersion() override {
    OPAL_ASSIGN_OR_RETURN(auto v, db_->Exec("SELECT value FROM meta WHERE key = 'schema_version'"));
    return v.Rows() ? std::stoi(v.Text(0, 0)) : 0;
  }

  Result<int64_t> Put(const std::vector<Record>& records) override {
    int64_t added = 0;
    Status st = db_->Transaction([&]() -> Status {
      writer_.Discard();
      OPAL_ASSIGN_OR_RETURN(added, writer_.Insert(records));
      return Status::Ok();
    });
    if (!st.ok()) {
      writer_.Discard();
      return st;
    }
    writer_.Committed();
    return added;
  }

  Result<std::vector<Record>> TopK(const TopKQuery& q) override {
    std::vector<Record> out;
    const std::string major = MajorVersion(q.framework_version);
    const std::string where =
        "WHERE w.key = $1 AND r.status = 'ok' AND ($3 = '' OR r.framework = $3) AND "
        "($4 = '' OR r.framework_major = $4) ";
    OPAL_RETURN_IF_ERROR(Collect(std::string("SELECT ") + kRecordColumns + kRecordFrom + where +
                                     "AND t.key = $2 ORDER BY r.median_s, r.uid LIMIT $5::bigint",
                                 {q.workload_key, q.target_key, q.framework, major, std::to_string(q.k)}, out));
    if (q.coarse_fallback && static_cast<int>(out.size()) < q.k && !q.target_coarse_key.empty()) {
      OPAL_RETURN_IF_ERROR(Collect(std::string("SELECT ") + kRecordColumns + kRecordFrom + where +
                                       "AND t.coarse_key = $6 AND t.key <> $2 ORDER BY r.median_s, r.uid "
                                       "LIMIT $5::bigint",
                                   {q.workload_key, q.target_key, q.framework, major,
                                    std::to_string(q.k - static_cast<int>(out.size())), q.target_coarse_key},
                                   out));
    }
    return out;
  }

  Status Scan(const RecordFilter& f, const std::function<bool(const Record&)>& fn) override {
    // Pages by id so a scan of millions of records never holds them all in memory.
    int64_t after = 0;
    while (true) {
      std::vector<std::string> params = FilterParams(f);
      params.push_back(std::to_string(after));
      OPAL_ASSIGN_OR_RETURN(auto res, db_->Exec(std::string("SELECT ") + kRecordColumns + ", r.id" + kRecordFrom +
                                                FilterWhere() + " AND r.id > $7::bigint ORDER BY r.id LIMIT 5000",
                                                params));
      if (res.Rows() == 0) return Status::Ok();
      for (int i = 0; i < res.Rows(); ++i) {
        OPAL_ASSIGN_OR_RETURN(Record r, Read(res, i));
        if (!fn(r)) return Status::Ok();
        after = res.Int(i, 22);
      }
    }
  }

  Result<int64_t> Count(const RecordFilter& f) override {
    OPAL_ASSIGN_OR_RETURN(auto res, db_->Exec(std::string("SELECT count(*)") + kRecordFrom + FilterWhere(),
                                              FilterParams(f)));
    return res.Int(0, 0);
  }

  Result<std::vector<StoreSummaryRow>> Summarize() override {
    OPAL_ASSIGN_OR_RETURN(auto res, db_->Exec(
        "SELECT t.key, w.op, count(*), count(*) FILTER (WHERE r.status = 'ok'), count(DISTINCT r.workload_id), "
        "coalesce(max(r.gflops) FILTER (WHERE r.status = 'ok'), 0)" + std::string(kRecordFrom) +
        "GROUP BY t.key, w.op ORDER BY t.key, w.op"));
    std::vector<StoreSummaryRow> out;
    for (int i = 0; i < res.Rows(); ++i)
      out.push_back({res.Text(i, 0), res.Text(i, 1), res.Int(i, 2), res.Int(i, 3), res.Int(i, 4), res.Real(i, 5)});
    return out;
  }

  Result<std::set<std::string>> MeasuredConfigs(const std::string& workload_key, const std::string& target_key,
                                                const std::string& framework,
                                                const std::string& framework_version) override {
    OPAL_ASSIGN_OR_RETURN(auto res, db_->Exec(std::string("SELECT DISTINCT r.config") + kRecordFrom +
                                                  "WHERE w.key = $1 AND t.key = $2 AND r.framework = $3 AND "
                                                  "r.framework_version = $4",
                                              {workload_key, target_key, framework, framework_version}));
    std::set<std::string> out;
    for (int i = 0; i < res.Rows(); ++i) out.insert(res.Text(i, 0));
    return out;
  }

  Result<int64_t> Prune(const std::string& framework, const std::string& framework_version, int keep) override {
    if (keep < 0) return Error(ErrorCode::kInvalidArgument, "prune: --keep must be >= 0");
    int64_t deleted = 0;
    OPAL_RETURN_IF_ERROR(db_->Transaction([&]() -> Status {
      OPAL_ASSIGN_OR_RETURN(auto res, db_->Exec(
          "DELETE FROM records WHERE framework = $1 AND framework_version = $2 AND id NOT IN ("
          "  SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY workload_id, target_id "
          "                  ORDER BY median_s, uid) AS rank FROM records"
          "                  WHERE framework = $1 AND framework_version = $2 AND status = 'ok') ranked"
          "  WHERE rank <= $3::bigint)",
          {framework, framework_version, std::to_string(keep)}));
      deleted = res.Affected();
      return Status::Ok();
    }));
    return deleted;
  }

 private:
  static std::string FilterWhere() {
    return "WHERE ($1 = '' OR w.key = $1) AND ($2 = '' OR t.key = $2) AND ($3 = '' OR w.op = $3) AND "
           "($4 = '' OR r.framework = $4) AND ($5 = '' OR r.framework_version = $5) AND "
           "($6 = '0' OR r.status = 'ok')";
  }
  static std::vector<std::string> FilterParams(const RecordFilter& f) {
    return {f.workload_key, f.target_key, f.op, f.framework, f.framework_version, f.ok_only ? "1" : "0"};
  }

  Status Collect(const std::string& sql, const std::vector<std::string>& params, std::vector<Record>& out) {
    OPAL_ASSIGN_OR_RETURN(auto res, db_->Exec(sql, params));
    for (int i = 0; i < res.Rows(); ++i) {
      OPAL_ASSIGN_OR_RETURN(Record r, Read(res, i));
      out.push_back(std::move(r));
    }
    return Status::Ok();
  }

  std::unique_ptr<PgConn> db_;
  RecordWriter writer_{db_.get()};
};

}  // namespace

Result<std::unique_ptr<RecordStore>> OpenPostgresStore(const std::string& uri, int max_version) {
  OPAL_ASSIGN_OR_RETURN(auto db, PgConn::Connect(uri));
  OPAL_RETURN_IF_ERROR(Migrate(*db, max_version));
  std::unique_ptr<RecordStore> store = std::make_unique<PostgresStore>(std::move(db));
  OPAL_ASSIGN_OR_RETURN(int version, store->SchemaVersion());
  if (version > CurrentSchemaVersion()) {
    return Error(ErrorCode::kFailed, "store {} has schema version {}, newer than this opal understands ({}); "
                 "upgrade opal", Redact(uri), version, CurrentSchemaVersion());
  }
  return store;
}

}  // namespace opal::store
