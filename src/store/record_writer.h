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

class SqlSession;

// Caches workload/target row ids. Ids created in a transaction are only trusted after it
// commits: the session calls Committed() after a successful commit, Discard() otherwise.
class RecordWriter {
 public:
  explicit RecordWriter(SqlSession& db) : db_(db) {}

  // Must run inside SqlSession::Transaction. Records must be finalized; duplicates (by uid) are
  // skipped. Returns how many were new.
  Result<int64_t> Insert(const std::vector<Record>& records);
  void Committed() {
    ids_.insert(pending_.begin(), pending_.end());
    pending_.clear();
  }
  void Discard() { pending_.clear(); }

 private:
  Result<int64_t> IdOf(const std::string& table, const std::string& key, const std::string& a,
                       const std::string& b);

  SqlSession& db_;
  std::map<std::string, int64_t> ids_;      // committed, by "table\nkey"
  std::map<std::string, int64_t> pending_;  // created in the open transaction
};

}  // namespace opal::store
