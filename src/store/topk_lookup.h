// Top-k lookups for the SQL record store, with the workload and target rows a session has seen
// remembered: their rows are written once (INSERT ... ON CONFLICT DO NOTHING) and never change
// or go away, so a lookup needs neither a subquery per id nor a join per result row to fill in
// the workload and target of each record. Measured on PostgreSQL (docs/store.md), those joins
// and subqueries were most of a lookup's time; what is left is one statement on the summary's
// (or the records') index for a workload and target already seen, two for one not seen yet. Keys
// that are not found are never remembered: another process may add them at any time.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "opal/record.h"
#include "opal/record_store.h"
#include "opal/status.h"

namespace opal::store {

class SqlSession;

class TopKLookup {
 public:
  explicit TopKLookup(SqlSession& db) : db_(db) {}

  // RecordStore::TopK's contract; runs inside the caller's SqlSession::Read (no retry here).
  Status Run(const TopKQuery& q, std::vector<Record>& out);

  // A workload's or target's row: its id and the two columns a record copies from it
  // (workloads: json, op; targets: coarse_key, canonical).
  struct KeyRow {
    int64_t id = 0;
    std::string a, b;
  };

 private:
  // The rows of the workload and target keys not remembered yet, read in one statement; a key
  // that does not exist stays absent from the maps.
  Status Resolve(const std::string& workload_key, const std::string& target_key);
  // Appends the `limit` fastest valid records of the workload on its exact target (`target` set)
  // or on the other targets of q's coarse key (`target` null).
  Status Best(const TopKQuery& q, const KeyRow& workload, const KeyRow* target, int limit,
              std::vector<Record>& out);

  SqlSession& db_;
  std::unordered_map<std::string, KeyRow> workloads_, targets_;  // by key
};

}  // namespace opal::store
