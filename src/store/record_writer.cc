#include "store/record_writer.h"

#include "store/best_records.h"
#include "store/record_rows.h"
#include "store/sql_session.h"
#include "store/store_util.h"

namespace opal::store {
Result<int64_t> RecordWriter::IdOf(const std::string& table, const std::string& key,
                                   const std::string& a, const std::string& b) {
  const std::string cache_key = table + '\n' + key;
  if (auto it = ids_.find(cache_key); it != ids_.end()) return it->second;
  if (auto it = pending_.find(cache_key); it != pending_.end()) return it->second;
  const std::string cols =
      table == "workloads" ? "(key, op, json)" : "(key, coarse_key, canonical)";
  OPAL_RETURN_IF_ERROR(
      db_.Query("INSERT INTO " + table + " " + cols + " VALUES ($1, $2, $3)" + OnConflict("key"),
                {key, a, b}));
  int64_t id = -1;
  OPAL_RETURN_IF_ERROR(
      db_.Query("SELECT id FROM " + table + " WHERE key = $1", {key}, [&](const SqlRowView& r) {
        id = r.Int(0);
        return false;
      }));
  if (id < 0) return Error(ErrorCode::kInternal, "{} row for {} vanished", table, key);
  pending_[cache_key] = id;
  return id;
}

Result<int64_t> RecordWriter::Insert(const std::vector<Record>& records) {
  bool any_ok = false;
  for (const Record& r : records) {
    OPAL_RETURN_IF_ERROR(CheckFinalized(r));
    any_ok |= r.status == TrialStatus::kOk;
  }
  if (records.empty()) return 0;
  int64_t before = 0;  // every record this call adds gets a larger id
  OPAL_RETURN_IF_ERROR(
      db_.Query("SELECT coalesce(max(id), 0) FROM records", {}, [&](const SqlRowView& r) {
        before = r.Int(0);
        return false;
      }));
  int64_t added = 0;
  const size_t batch = static_cast<size_t>(db_.dialect().insert_rows);
  for (size_t begin = 0; begin < records.size(); begin += batch) {
    const size_t end = std::min(records.size(), begin + batch);
    SqlParams params;
    params.reserve((end - begin) * kRecordInsertParams);
    std::string sql = std::string("INSERT INTO records (") + kRecordInsertColumns + ") VALUES ";
    for (size_t i = begin; i < end; ++i) {
      const Record& r = records[i];
      OPAL_ASSIGN_OR_RETURN(int64_t wid, IdOf("workloads", r.workload_key, r.op, r.workload_json));
      OPAL_ASSIGN_OR_RETURN(int64_t tid,
                            IdOf("targets", r.target_key, r.target_coarse_key, r.target_string));
      sql += i == begin ? "(" : ",(";
      for (int p = 0; p < kRecordInsertParams; ++p)
        sql += (p ? ",$" : "$") + std::to_string(params.size() + static_cast<size_t>(p) + 1);
      sql += ")";
      AppendRecordParams(r, wid, tid, params);
    }
    int64_t changes = 0;
    OPAL_RETURN_IF_ERROR(db_.Query(sql + OnConflict("uid"), params, nullptr, &changes));
    added += changes;
  }
  if (added > 0 && any_ok) OPAL_RETURN_IF_ERROR(UpdateBestRecords(db_, before));
  return added;
}

}  // namespace opal::store
