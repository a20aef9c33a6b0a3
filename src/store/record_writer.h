// Inserting records inside a caller's transaction, for both SQL backends: the record store's Put
// and the task queue's AddTrials/Complete share it, so a task is marked done in the same
// transaction that stores its final records.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "opal/record.h"
#include "opal/status.h"

namespace opal::store {

class SqliteDb;
class PgConn;

// Caches workload/target row ids. Ids created in a transaction are only trusted after it
// commits: call Committed() after a successful commit, Discard() otherwise.
class RecordWriter {
 public:
  explicit RecordWriter(SqliteDb* db) : sqlite_(db) {}
  explicit RecordWriter(PgConn* db) : pg_(db) {}

  // Must run inside a transaction. Records must be finalized; duplicates (by uid) are skipped.
  // Returns how many were new.
  Result<int64_t> Insert(const std::vector<Record>& records);
  void Committed() {
    ids_.insert(pending_.begin(), pending_.end());
    pending_.clear();
  }
  void Discard() { pending_.clear(); }

 private:
  Result<int64_t> IdOf(const std::string& table, const std::string& key, const std::string& a,
                       const std::string& b);
  Result<int64_t> InsertSqlite(const std::vector<Record>& records);
  Result<int64_t> InsertPg(const std::vector<Record>& records);

  SqliteDb* sqlite_ = nullptr;
  PgConn* pg_ = nullptr;
  std::map<std::string, int64_t> ids_;      // committed, by "table\nkey"
  std::map<std::string, int64_t> pending_;  // created in the open transaction
};

}  // namespace opal::store
