#include "store/best_records.h"

#include <limits>

#include "store/best_rows.h"
#include "store/sql_session.h"

namespace opal::store {
namespace {

// The columns a best record copies from its record (record_id is the record's id).
constexpr const char* kCopied =
    "workload_id, target_id, uid, framework, framework_version, framework_major, config, error, "
    "times, "
    "median_s, gflops, opal_version, compiler, halide_version, llvm_version, host, worker_id, "
    "timestamp_us";

// kCopied with every column qualified by `alias`.
std::string Qualified(const std::string& alias) {
  std::string out, cols = kCopied;
  for (size_t pos = 0; pos < cols.size();) {
    const size_t comma = cols.find(", ", pos);
    out += (out.empty() ? "" : ", ") + alias + "." +
           cols.substr(pos, comma == std::string::npos ? comma : comma - pos);
    if (comma == std::string::npos) break;
    pos = comma + 2;
  }
  return out;
}

constexpr const char* kSameGroup =
    "b.workload_id = r.workload_id AND b.target_id = r.target_id AND b.framework = r.framework AND "
    "b.framework_major = r.framework_major";

// PostgreSQL: one writer per summary group at a time, for the rest of the transaction. Without
// it, two writers of one group trimmed its rows in different orders and deadlocked (a second
// lost to the deadlock timeout per Put, 8 writers of one group: 80 ms a Put), and each computed
// the group's best row without the other's record. Writers of other groups go on: a table lock
// made every AddTrials of a fleet wait for the one before it to commit (123 ms per call, 32
// workers). Locks: the table in the mode that only a rebuild's lock (best_rows.cc) conflicts
// with, then a transaction-scoped advisory lock per (workload, target) of this transaction's
// own records (id > after_id, WrittenHere), in key order (writers never wait for each other in
// a cycle). Advisory locks
// write nothing (row locks per group cost a write per row). Keys are the ids modulo 2^31: two
// groups sharing one only wait for each other. SQLite's write transaction excludes every other
// writer already.
Status LockGroupsOf(SqlSession& db, int64_t after_id) {
  if (!db.dialect().postgres) return Status::Ok();
  OPAL_RETURN_IF_ERROR(db.ExecScript("LOCK TABLE best_rows IN ROW EXCLUSIVE MODE"));
  return db.Query(
      std::string(
          "SELECT count(*) FROM (SELECT pg_advisory_xact_lock(g.w, g.t) FROM (SELECT DISTINCT "
          "CAST(workload_id % 2147483647 AS integer) AS w, CAST(target_id % 2147483647 AS integer) "
          "AS t FROM records r WHERE r.id > $1 AND r.id <= $2 AND r.status = 'ok'") +
          WrittenHere(db, "r") + ") g ORDER BY g.w, g.t) x",
      {after_id, std::numeric_limits<int64_t>::max()});
}

}  // namespace

std::string WrittenHere(const SqlSession& db, const char* alias) {
  if (!db.dialect().postgres) return "";
  return std::string(" AND ") + alias + ".xmin = pg_current_xact_id()::xid";
}

const char* const kBestColumns =
    "b.uid, w.key, w.json, w.op, t.key, t.coarse_key, t.canonical, b.framework, "
    "b.framework_version, "
    "b.config, 'ok', b.error, b.times, b.median_s, b.gflops, b.opal_version, b.compiler, "
    "b.halide_version, b.llvm_version, b.host, b.worker_id, b.timestamp_us";

Status UpdateBestRecords(SqlSession& db, int64_t after_id) {
  // A new valid record enters when fewer than kBestPerGroup rows of its group beat it (the
  // statement sees the summary as it was before, so records of one batch do not count each other).
  // Every range of new ids here is bounded ($3, no limit in fact): so a planner without
  // statistics yet (a new PostgreSQL store) reads it through the primary key, not every 'ok'
  // record through the top-k index (2.5 ms at 8,000 records).
  OPAL_RETURN_IF_ERROR(LockGroupsOf(db, after_id));
  int64_t added = 0;
  OPAL_RETURN_IF_ERROR(db.Query(
      std::string("INSERT INTO best_records (record_id, ") + kCopied + ") SELECT r.id, " +
          Qualified("r") + " FROM records r WHERE r.id > $1 AND r.id <= $3 AND r.status = 'ok'" +
          WrittenHere(db, "r") +
          " AND (SELECT count(*) FROM "
          "best_records b WHERE " +
          kSameGroup +
          " AND (b.median_s < r.median_s OR (b.median_s = r.median_s AND b.uid < r.uid))) < $2" +
          OnConflict("record_id"),
      {after_id, int64_t{kBestPerGroup}, std::numeric_limits<int64_t>::max()}, nullptr, &added));
  if (added == 0) return Status::Ok();
  // Then each group that received rows keeps its kBestPerGroup fastest: the group's first
  // dropped row (offset kBestPerGroup in the summary's own order, found by walking its index)
  // is the cut, and every row from it on goes. No group is ranked or sorted whole: a window
  // over every touched group sorted the whole summary once per batch, most of an import's time
  // at 10^6 records (docs/store.md). The bounded id range ($3: no upper limit in fact) makes
  // SQLite's planner read the new rows through the record_id index rather than scan the summary.
  OPAL_RETURN_IF_ERROR(db.Query(
      "DELETE FROM best_records WHERE record_id IN (SELECT b.record_id FROM (SELECT DISTINCT "
      "n.workload_id, n.target_id, n.framework, n.framework_major FROM best_records n WHERE "
      "n.record_id > $1 AND n.record_id <= $3" +
          WrittenHere(db, "n") +
          ") "
          "g JOIN best_records b ON b.workload_id = g.workload_id AND b.target_id = g.target_id "
          "AND "
          "b.framework = g.framework AND b.framework_major = g.framework_major WHERE (b.median_s, "
          "b.uid) >= (SELECT c.median_s, c.uid FROM best_records c WHERE c.workload_id = "
          "g.workload_id AND c.target_id = g.target_id AND c.framework = g.framework AND "
          "c.framework_major = g.framework_major ORDER BY c.median_s, c.uid LIMIT 1 OFFSET $2))",
      {after_id, int64_t{kBestPerGroup}, std::numeric_limits<int64_t>::max()}));
  return RefreshBestRows(db, after_id);
}

Status RebuildBestRecords(SqlSession& db, const std::string& framework, const std::string& major) {
  return RebuildBestGroups(db, BestGroups{.framework = framework, .major = major});
}

std::string BestGroupsWhere(const BestGroups& g, SqlParams& params) {
  std::string where;
  auto add = [&](bool apply, const char* column, SqlValue v) {
    if (!apply) return;
    params.push_back(std::move(v));
    where += std::string(" AND ") + column + " = $" + std::to_string(params.size());
  };
  add(g.workload_id > 0, "workload_id", g.workload_id);
  add(g.target_id > 0, "target_id", g.target_id);
  add(!g.framework.empty(), "framework", g.framework);
  add(!g.major.empty(), "framework_major", g.major);
  return where;
}

namespace {

Status RebuildTable(SqlSession& db, const BestGroups& g) {
  // The same conditions on both tables, with the parameters that apply.
  SqlParams params;
  const std::string where = BestGroupsWhere(g, params);
  OPAL_RETURN_IF_ERROR(db.Query("DELETE FROM best_records WHERE 1 = 1" + where, params));
  params.push_back(int64_t{kBestPerGroup});
  return db.Query(
      std::string("INSERT INTO best_records (record_id, ") + kCopied + ") SELECT id, " + kCopied +
          " FROM (SELECT id, " + kCopied +
          ", row_number() OVER (PARTITION BY workload_id, target_id, framework, framework_major "
          "ORDER BY median_s, uid) AS rank FROM records WHERE status = 'ok'" +
          where + ") ranked WHERE rank <= $" + std::to_string(params.size()),
      params);
}

}  // namespace

Status RebuildBestGroups(SqlSession& db, const BestGroups& g) {
  OPAL_RETURN_IF_ERROR(RebuildTable(db, g));
  return RebuildBestRows(db, g);
}

Status RebuildBestRecordsTable(SqlSession& db) { return RebuildTable(db, {}); }

}  // namespace opal::store
