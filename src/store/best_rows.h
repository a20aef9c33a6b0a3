// The one-row best-k summary (schema 7): for every group of the best-record summary (workload,
// target, framework, major version), the group's kBestInRow fastest valid records encoded
// together in ONE row of table best_rows. A top-k lookup with k <= kBestInRow reads one row per
// group -- one index probe, one heap tuple -- instead of k summary rows scattered over the
// summary's pages (docs/store.md: the heap fetches and per-row work were most of a PostgreSQL
// lookup's server time). The row is derived from best_records (best_records.h) in the same
// transaction as every change to it, so it never disagrees with the trials.
//
// Body: the records one after another, in no particular order (readers sort them by
// (median_s, uid)); a record is kBestFieldCount fields, each written as its length in bytes in
// decimal, ':', then the bytes. Numbers are text: integers in decimal, doubles in their
// shortest exact form (PostgreSQL: SQL over float8 output with extra_float_digits = 1; SQLite:
// opal_best_record, a function every SQLite session registers), so a record reads back
// bit-exact.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "opal/status.h"

namespace opal::store {

class SqlSession;
struct BestGroups;

// Records per group in a best_rows row: k up to this is one row per group. The tuner asks for
// its population (16 by default), the builder for 1 (or its re-timing count).
constexpr int kBestInRow = 16;

// The fields of an encoded record, in body order.
enum BestField {
  kBestUid,
  kBestVersion,
  kBestConfig,
  kBestError,
  kBestTimes,
  kBestMedian,
  kBestGflops,
  kBestOpalVersion,
  kBestCompiler,
  kBestHalideVersion,
  kBestLlvmVersion,
  kBestHost,
  kBestWorkerId,
  kBestTimestamp,
  kBestFieldCount
};
using BestRowFields = std::array<std::string_view, kBestFieldCount>;

// Appends one field to a body being encoded.
void AppendBestField(std::string& body, std::string_view value);

// Appends the records of a body to `out` (views into `body`); kInternal when it is malformed.
Status DecodeBestRow(std::string_view body, std::vector<BestRowFields>& out);

// Inside a transaction, after UpdateBestRecords added summary rows with record_id > after_id
// (holding their groups' locks): rewrites the best_rows of their groups, computed by one
// statement whose snapshot holds every committed change of a writer that held a lock first.
Status RefreshBestRows(SqlSession& db, int64_t after_id);
// Inside a transaction, after best_records' groups matching `groups` were rebuilt: rewrites
// their rows (and drops those of groups left without a valid record).
Status RebuildBestRows(SqlSession& db, const BestGroups& groups);

}  // namespace opal::store
