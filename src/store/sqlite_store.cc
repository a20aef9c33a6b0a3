#include "store/sqlite_store.h"

#include <map>

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
    for (const Record& r : records) OPAL_RETURN_IF_ERROR(CheckFinalized(r));
    int64_t added = 0;
    std::map<std::string, int64_t> new_ids;  // ids created in this transaction, cached on commit
    Status st = db_->WriteTransaction([&]() -> Status {
      added = 0;
      new_ids.clear();
      OPAL_ASSIGN_OR_RETURN(auto ins, db_->Prepare(std::string("INSERT INTO records (") + kRecordInsertColumns +
                                                   ") VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,"
                                                   "?16,?17,?18,?19) ON CONFLICT (uid) DO NOTHING"));
      for (const Record& r : records) {
        OPAL_ASSIGN_OR_RETURN(int64_t wid, IdOf("workloads", r.workload_key, r.op, r.workload_json, new_ids));
        OPAL_ASSIGN_OR_RETURN(int64_t tid, IdOf("targets", r.target_key, r.target_coarse_key, r.target_string, new_ids));
        ins.Reset();
        ins.Bind(1, wid).Bind(2, tid);
        WriteRecordParams(r, {[&](int i, const std::string& v) { ins.Bind(i, v); },
                              [&](int i, double v) { ins.Bind(i, v); },
                              [&](int i, int64_t v) { ins.Bind(i, v); }});
        OPAL_RETURN_IF_ERROR(ins.Run());
        added += db_->Changes();
      }
      return Status::Ok();
    });
    if (!st.ok()) return st;
    ids_.insert(new_ids.begin(), new_ids.end());
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

  // Id of the workload/target row with `key`, inserting it (with its two other columns) if new.
  Result<int64_t> IdOf(const std::string& table, const std::string& key, const std::string& a,
                       const std::string& b, std::map<std::string, int64_t>& new_ids) {
    const std::string cache_key = table + '\n' + key;
    if (auto it = ids_.find(cache_key); it != ids_.end()) return it->second;
    if (auto it = new_ids.find(cache_key); it != new_ids.end()) return it->second;
    const std::string cols = table == "workloads" ? "(key, op, json)" : "(key, coarse_key, canonical)";
    OPAL_ASSIGN_OR_RETURN(auto ins, db_->Prepare("INSERT INTO " + table + " " + cols +
                                                 " VALUES (?1, ?2, ?3) ON CONFLICT (key) DO NOTHING"));
    OPAL_RETURN_IF_ERROR(ins.Bind(1, key).Bind(2, a).Bind(3, b).Run());
    OPAL_ASSIGN_OR_RETURN(auto sel, db_->Prepare("SELECT id FROM " + table + " WHERE key = ?1"));
    OPAL_ASSIGN_OR_RETURN(bool row, sel.Bind(1, key).Step());
    if (!row) return Error(ErrorCode::kInternal, "{} row for {} vanished", table, key);
    new_ids[cache_key] = sel.Int(0);
    return sel.Int(0);
  }

  std::unique_ptr<SqliteDb> db_;
  std::map<std::string, int64_t> ids_;  // committed workload/target ids by "table\nkey"
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
