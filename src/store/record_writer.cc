#include "store/record_writer.h"

#include <cstdio>

#include "store/pg_conn.h"
#include "store/sql_common.h"
#include "store/sqlite_db.h"
#include "store/store_util.h"

namespace opal::store {
namespace {

constexpr int kPgBatch = 500;  // rows per multi-row INSERT (19 parameters each)

std::string Num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace

Result<int64_t> RecordWriter::Insert(const std::vector<Record>& records) {
  for (const Record& r : records) OPAL_RETURN_IF_ERROR(CheckFinalized(r));
  return sqlite_ ? InsertSqlite(records) : InsertPg(records);
}

Result<int64_t> RecordWriter::IdOf(const std::string& table, const std::string& key, const std::string& a,
                                   const std::string& b) {
  const std::string cache_key = table + '\n' + key;
  if (auto it = ids_.find(cache_key); it != ids_.end()) return it->second;
  if (auto it = pending_.find(cache_key); it != pending_.end()) return it->second;
  const std::string cols = table == "workloads" ? "(key, op, json)" : "(key, coarse_key, canonical)";
  int64_t id = 0;
  if (sqlite_) {
    OPAL_ASSIGN_OR_RETURN(auto ins, sqlite_->Prepare("INSERT INTO " + table + " " + cols +
                                                     " VALUES (?1, ?2, ?3) ON CONFLICT (key) DO NOTHING"));
    OPAL_RETURN_IF_ERROR(ins.Bind(1, key).Bind(2, a).Bind(3, b).Run());
    OPAL_ASSIGN_OR_RETURN(auto sel, sqlite_->Prepare("SELECT id FROM " + table + " WHERE key = ?1"));
    OPAL_ASSIGN_OR_RETURN(bool row, sel.Bind(1, key).Step());
    if (!row) return Error(ErrorCode::kInternal, "{} row for {} vanished", table, key);
    id = sel.Int(0);
  } else {
    OPAL_RETURN_IF_ERROR(
        pg_->Exec("INSERT INTO " + table + " " + cols + " VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING",
                  {key, a, b})
            .status());
    OPAL_ASSIGN_OR_RETURN(auto sel, pg_->Exec("SELECT id FROM " + table + " WHERE key = $1", {key}));
    if (sel.Rows() != 1) return Error(ErrorCode::kInternal, "{} row for {} vanished", table, key);
    id = sel.Int(0, 0);
  }
  pending_[cache_key] = id;
  return id;
}

Result<int64_t> RecordWriter::InsertSqlite(const std::vector<Record>& records) {
  OPAL_ASSIGN_OR_RETURN(auto ins, sqlite_->Prepare(std::string("INSERT INTO records (") + kRecordInsertColumns +
                                                   ") VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,"
                                                   "?16,?17,?18,?19) ON CONFLICT (uid) DO NOTHING"));
  int64_t added = 0;
  for (const Record& r : records) {
    OPAL_ASSIGN_OR_RETURN(int64_t wid, IdOf("workloads", r.workload_key, r.op, r.workload_json));
    OPAL_ASSIGN_OR_RETURN(int64_t tid, IdOf("targets", r.target_key, r.target_coarse_key, r.target_string));
    ins.Reset();
    ins.Bind(1, wid).Bind(2, tid);
    WriteRecordParams(r, {[&](int i, const std::string& v) { ins.Bind(i, v); },
                          [&](int i, double v) { ins.Bind(i, v); }, [&](int i, int64_t v) { ins.Bind(i, v); }});
    OPAL_RETURN_IF_ERROR(ins.Run());
    added += sqlite_->Changes();
  }
  return added;
}

Result<int64_t> RecordWriter::InsertPg(const std::vector<Record>& records) {
  int64_t added = 0;
  for (size_t begin = 0; begin < records.size(); begin += kPgBatch) {
    const size_t end = std::min(records.size(), begin + kPgBatch);
    std::vector<std::string> params;
    std::string sql = std::string("INSERT INTO records (") + kRecordInsertColumns + ") VALUES ";
    for (size_t i = begin; i < end; ++i) {
      const Record& r = records[i];
      OPAL_ASSIGN_OR_RETURN(int64_t wid, IdOf("workloads", r.workload_key, r.op, r.workload_json));
      OPAL_ASSIGN_OR_RETURN(int64_t tid, IdOf("targets", r.target_key, r.target_coarse_key, r.target_string));
      const size_t base = params.size();
      params.resize(base + kRecordInsertParams);
      params[base] = std::to_string(wid);
      params[base + 1] = std::to_string(tid);
      auto at = [&](int i) -> std::string& { return params[base + static_cast<size_t>(i) - 1]; };
      WriteRecordParams(r, {[&](int i, const std::string& v) { at(i) = v; }, [&](int i, double v) { at(i) = Num(v); },
                            [&](int i, int64_t v) { at(i) = std::to_string(v); }});
      sql += i == begin ? "(" : ",(";
      for (int p = 0; p < kRecordInsertParams; ++p) {
        sql += (p ? ",$" : "$") + std::to_string(base + static_cast<size_t>(p) + 1);
        if (p == 0 || p == 1 || p == 18) sql += "::bigint";
        if (p == 10 || p == 11) sql += "::double precision";
      }
      sql += ")";
    }
    sql += " ON CONFLICT (uid) DO NOTHING";
    OPAL_ASSIGN_OR_RETURN(auto res, pg_->Exec(sql, params));
    added += res.Affected();
  }
  return added;
}

}  // namespace opal::store
