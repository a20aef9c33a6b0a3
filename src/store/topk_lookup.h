// Top-k lookups for the SQL record store, with the workload and target rows a session has seen
// remembered: their rows are written once (INSERT ... ON CONFLICT DO NOTHING) and never change
// or go away, so a lookup needs neither a subquery per id nor a join per result row to fill in
// the workload and target of each record. Measured on PostgreSQL (docs/store.md), those joins
// and subqueries were most of a lookup's time. With k <= kBestInRow a lookup is ONE statement
// that reads one best_rows row per group (best_rows.h): by ids for a workload and target
// already seen, by keys (their rows joined once) for one not seen yet; the coarse fallback is
// one more. Larger k read best_records or records. Keys that are not found are never
// remembered: another process may add them at any time.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

#include "opal/record.h"
#include "opal/record_store.h"
#include "opal/status.h"
#include "store/sql_session.h"

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
  struct Body;
  // k <= kBestInRow: the best_rows of the exact target (and with the coarse fallback, of the
  // other targets of its coarse key), sorted and cut client-side.
  Status FromRows(const TopKQuery& q, std::vector<Record>& out);
  // The records of the groups' rows decoded, the `limit` fastest appended to `out` as records of
  // q's workload and of `target` (null: each row's own target).
  Status Emit(const TopKQuery& q, const KeyRow& workload, const KeyRow* target,
              const std::deque<Body>& bodies, int limit, std::vector<Record>& out);
  // " AND <alias>framework = $n AND <alias>framework_major = $m" for q's filters.
  static std::string FrameworkFilter(const TopKQuery& q, const std::string& alias,
                                     SqlParams& params);
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
