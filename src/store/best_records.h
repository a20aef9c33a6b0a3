// The per-group best-record summary: for every (workload, target, framework, major version), the
// kBestPerGroup fastest valid records, copied whole into table best_records (and, from schema 7,
// the kBestInRow fastest of them encoded in one row per group: best_rows.h). Top-k lookups with
// k <= kBestPerGroup read only this small, hot table -- the group's best rows lie together in
// its index -- instead of fetching k rows scattered over a records table of 10^7 rows. It is
// kept consistent with records in the same transaction as every change to them: inserts
// (RecordWriter), Prune and compaction (RebuildBestRecords).
#pragma once

#include <cstdint>
#include <string>

#include "opal/status.h"
#include "store/sql_session.h"

namespace opal::store {

constexpr int kBestPerGroup = 32;

// SELECT list over best_records b JOIN workloads w JOIN targets t, in kRecordColumns order
// (TopKLookup reads the summary's own columns of it: the workload's and target's it remembers).
extern const char* const kBestColumns;

// Inside a transaction, after records with ids > `after_id` were inserted: adds those that are
// among their group's kBestPerGroup fastest, then drops what they pushed out, and rewrites the
// best_rows of the groups that received records. Only this transaction's own rows count as new:
// on PostgreSQL, records other writers committed meanwhile also have larger ids, and taking
// them in made every writer wait for the others' groups (their own transactions update them).
Status UpdateBestRecords(SqlSession& db, int64_t after_id);

// The condition (" AND alias.xmin = ...", or "" on SQLite, whose write transaction excludes
// every other writer) that keeps, of the rows with ids above a transaction's starting point,
// those written by this transaction.
std::string WrittenHere(const SqlSession& db, const char* alias);

// Which summary groups to recompute: every condition given (non-zero, non-empty) applies.
struct BestGroups {
  int64_t workload_id = 0;
  int64_t target_id = 0;
  std::string framework;
  std::string major;
};

// " AND column = $N" for every condition of `groups`, with its value appended to `params`.
std::string BestGroupsWhere(const BestGroups& groups, SqlParams& params);

// Inside a transaction: recomputes those groups of the summary (and their best_rows) from records.
Status RebuildBestGroups(SqlSession& db, const BestGroups& groups);
// best_records alone, every group: schema 6's data step (best_rows comes with schema 7).
Status RebuildBestRecordsTable(SqlSession& db);
// The same for one framework and major version (both "" = every group).
Status RebuildBestRecords(SqlSession& db, const std::string& framework = "",
                          const std::string& major = "");

}  // namespace opal::store
