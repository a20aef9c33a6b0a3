#include "store/sqlite_store.h"

#include <map>

#include "store/record_writer.h"
#include "store/schema.h"
#include "store/sql_common.h"
#include "store/sqlite_db.h"
#include "store/store_util.h"

namespace opal::store {
namespace {

// Runs the pending migrations, each in its own write transaction that re-reads the version, so
// processes opening one file at the same time migrate it once.
Status Migrate(SqliteDb& db, int max_version) {
  OPAL_RETURN_IF_ERROR(db.WriteTransaction(
      [&] { return db.Exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"); }));
  for (const Migration& m : Migrations()) {
    if (max_version > 0 && m.version > max_version) break;
    OPAL_RETURN_IF_ERROR(db.WriteTransaction([&]() -> Status {
      OPAL_ASSIGN_OR_RETURN(auto q, db.Prepare("SELECT value FROM meta WHERE key = 'schema_version'"));
      OPAL_ASSIGN_OR_RETURN(bool has, q.Step());
      const int current = has ? std::stoi(q.Text(0)) : 0;
      if (current >= m.version) return Status::Ok();
      OPAL_RETURN_IF_ERROR(db.Exec(m.sqlite).WithContext("migrating to schema " + std::to_string(m.version)));
      OPAL_ASSIGN_OR_RETURN(auto set, db.Prepare("INSERT INTO meta (key, value) VALUES ('schema_version', ?1) "
                                                 "ON CONFLICT (key) DO UPDATE SET value = excluded.value"));
      return set.Bind(1, std::to_string(m.version)).Run();
    }));
  }
  return Status::Ok();
}

class SqliteStore final : public RecordStore {
 public:
  explicit SqliteStore(std::unique_ptr<SqliteDb> db) : db_(std::move(db)) {}

  std::string Describe() const override { return "sqlite:" + db_->path(); }

  Result<int> SchemaVersion() override {
    OPAL_ASSIGN_OR_RETURN(auto q, db_->Prepare("SELECT value FROM meta WHERE key = 'schema_version'"));
    OPAL_ASSIGN_OR_RETURN(bool has, q.Step());
    return has ? std::stoi(q.Text(0)) : 0;
  }

  Result<int64_t> Put(const std::vector<Record>& records) override {
    int64_t added = 0;
    Status st = db_->WriteTransaction([&]() -> Status {
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
        "WHERE w.key = ?1 AND r.status = 'ok' AND (?3 = '' OR r.framework = ?3) AND "
        "(?4 = '' OR r.framework_major = ?4) ";
    OPAL_RETURN_IF_ERROR(Collect(std::string("SELECT ") + kRecordColumns + kRecordFrom + where +
                                     "AND t.key = ?2 ORDER BY r.median_s, r.uid LIMIT ?5",
                                 {q.workload_key, q.target_key, q.framework, major}, q.k, out));
    if (q.coarse_fallback && static_cast<int>(out.size()) < q.k && !q.target_coarse_key.empty()) {
      OPAL_RETURN_IF_ERROR(Collect(std::string("SELECT ") + kRecordColumns + kRecordFrom + where +
                                       "AND t.coarse_key = ?6 AND t.key <> ?2 ORDER BY r.median_s, r.uid LIMIT ?5",
                                   {q.workload_key, q.target_key, q.framework, major, "", q.target_coarse_key},
                                   q.k - static_cast<int>(out.size()), out));
    }
    return out;
  }

  Status Scan(const RecordFilter& f, const std::function<bool(const Record&)>& fn) override {
    OPAL_ASSIGN_OR_RETURN(auto q, db_->Prepare(std::string("SELECT ") + kRecordColumns + kRecordFrom +
                                               FilterWhere() + " ORDER BY r.id"));
    BindFilter(q, f);
    while (true) {
      OPAL_ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) return Status::Ok();
      OPAL_ASSIGN_OR_RETURN(Record r, Read(q));
      if (!fn(r)) return Status::Ok();
    }
  }

  Result<int64_t> Count(const RecordFilter& f) override {
    OPAL_ASSIGN_OR_RETURN(auto q, db_->Prepare(std::string("SELECT count(*)") + kRecordFrom + FilterWhere()));
    BindFilter(q, f);
    OPAL_RETURN_IF_ERROR(q.Step().status());
    return q.Int(0);
  }

  Result<std::vector<StoreSummaryRow>> Summarize() override {
    OPAL_ASSIGN_OR_RETURN(auto q, db_->Prepare(
        "SELECT t.key, w.op, count(*), sum(r.status = 'ok'), count(DISTINCT r.workload_id), "
        "coalesce(max(CASE WHEN r.status = 'ok' THEN r.gflops END), 0)" + std::string(kRecordFrom) +
        "GROUP BY t.key, w.op ORDER BY t.key, w.op"));
    std::vector<StoreSummaryRow> out;
    while (true) {
      OPAL_ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) return out;
      out.push_back({q.Text(0), q.Text(1), q.Int(2), q.Int(3), q.Int(4), q.Real(5)});
    }
  }

  Result<std::set<std::string>> MeasuredConfigs(const std::string& workload_key, const std::string& target_key,
                                                const std::string& framework,
                                                const std::string& framework_version) override {
    OPAL_ASSIGN_OR_RETURN(auto q, db_->Prepare(std::string("SELECT DISTINCT r.config") + kRecordFrom +
                                               "WHERE w.key = ?1 AND t.key = ?2 AND r.framework = ?3 AND "
                                               "r.framework_version = ?4"));
    q.Bind(1, workload_key).Bind(2, target_key).Bind(3, framework).Bind(4, framework_version);
    std::set<std::string> out;
    while (true) {
      OPAL_ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) return out;
      out.insert(q.Text(0));
    }
  }

  Result<int64_t> Prune(const std::string& framework, const std::string& framework_version, int keep) override {
    if (keep < 0) return Error(ErrorCode::kInvalidArgument, "prune: --keep must be >= 0");
    int64_t deleted = 0;
    OPAL_RETURN_IF_ERROR(db_->WriteTransaction([&]() -> Status {
      // Rank the valid records of this exact version per (workload, target); delete everything of
      // this version that is not among the `keep` best.
      OPAL_ASSIGN_OR_RETURN(auto del, db_->Prepare(
          "DELETE FROM records WHERE framework = ?1 AND framework_version = ?2 AND id NOT IN ("
          "  SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY workload_id, target_id "
          "                  ORDER BY median_s, uid) AS rank FROM records"
          "                  WHERE framework = ?1 AND framework_version = ?2 AND status = 'ok')"
          "  WHERE rank <= ?3)"));
      OPAL_RETURN_IF_ERROR(del.Bind(1, framework).Bind(2, framework_version).Bind(3, keep).Run());
      deleted = db_->Changes();
      return Status::Ok();
    }));
    return deleted;
  }

 private:
  static std::string FilterWhere() {
    return "WHERE (?1 = '' OR w.key = ?1) AND (?2 = '' OR t.key = ?2) AND (?3 = '' OR w.op = ?3) AND "
           "(?4 = '' OR r.framework = ?4) AND (?5 = '' OR r.framework_version = ?5) AND "
           "(?6 = 0 OR r.status = 'ok')";
  }
  static void BindFilter(SqliteStmt& q, const RecordFilter& f) {
    q.Bind(1, f.workload_key).Bind(2, f.target_key).Bind(3, f.op).Bind(4, f.framework);
    q.Bind(5, f.framework_version).Bind(6, f.ok_only ? 1 : 0);
  }
  static Result<Record> Read(SqliteStmt& q) {
    return RowToRecord({[&](int i) { return q.Text(i); }, [&](int i) { return q.Real(i); },
                        [&](int i) { return q.Int(i); }});
  }

  Status Collect(const std::string& sql, const std::vector<std::string>& params, int limit, std::vector<Record>& out) {
    OPAL_ASSIGN_OR_RETURN(auto q, db_->Prepare(sql));
    for (size_t i = 0; i < params.size(); ++i) q.Bind(static_cast<int>(i + 1), params[i]);
    q.Bind(5, limit);
    while (true) {
      OPAL_ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) return Status::Ok();
      OPAL_ASSIGN_OR_RETURN(Record r, Read(q));
      out.push_back(std::move(r));
    }
  }

  std::unique_ptr<SqliteDb> db_;
  RecordWriter writer_{db_.get()};
};

}  // namespace

Result<std::unique_ptr<RecordStore>> OpenSqliteStore(const std::string& path, int max_version) {
  OPAL_ASSIGN_OR_RETURN(auto db, SqliteDb::Open(path));
  OPAL_RETURN_IF_ERROR(Migrate(*db, max_version));
  std::unique_ptr<RecordStore> store = std::make_unique<SqliteStore>(std::move(db));
  OPAL_ASSIGN_OR_RETURN(int version, store->SchemaVersion());
  if (version > CurrentSchemaVersion()) {
    return Error(ErrorCode::kFailed, "store {} has schema version {}, newer than this opal understands ({}); "
                 "upgrade opal", path, version, CurrentSchemaVersion());
  }
  return store;
}

}  // namespace opal::store
