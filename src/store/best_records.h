// The per-group best-record summary: for every (workload, target, framework, major version), the
// kBestPerGroup fastest valid records, copied whole into table best_records. Top-k lookups with
// k <= kBestPerGroup read only this small, hot table -- the group's best rows lie together in
// its index -- instead of fetching k rows scattered over a records table of 10^7 rows. It is
// kept consistent with records in the same transaction as every change to them: inserts
// (RecordWriter), Prune and compaction (RebuildBestRecords).
#pragma once

#include <cstdint>
#include <string>

#include "opal/status.h"

namespace opal::store {

class SqlSession;

constexpr int kBestPerGroup = 32;

// SELECT list over best_records b JOIN workloads w JOIN targets t, in kRecordColumns order
// (TopKLookup reads the summary's own columns of it: the workload's and target's it remembers).
extern const char* const kBestColumns;

// Inside a transaction, after records with ids > `after_id` were inserted: adds those that are
// among their group's kBestPerGroup fastest, then drops what they pushed out.
Status UpdateBestRecords(SqlSession& db, int64_t after_id);

// Which summary groups to recompute: every condition given (non-zero, non-empty) applies.
struct BestGroups {
  int64_t workload_id = 0;
  int64_t target_id = 0;
  std::string framework;
  std::string major;
};

// Inside a transaction: recomputes those groups of the summary from records.
Status RebuildBestGroups(SqlSession& db, const BestGroups& groups);
// The same for one framework and major version (both "" = every group).
Status RebuildBestRecords(SqlSession& db, const std::string& framework = "", const std::string& major = "");

}  // namespace opal::store
