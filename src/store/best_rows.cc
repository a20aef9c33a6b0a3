#include "store/best_rows.h"

#include <limits>
#include <string>

#include "store/best_records.h"
#include "store/sql_session.h"

namespace opal::store {
namespace {

// best_records' columns in BestField order, and whether each is text (else a number).
struct Field {
  const char* column;
  bool text;
};
constexpr Field kFields[kBestFieldCount] = {{"uid", true},          {"framework_version", true},
                                            {"config", true},       {"error", true},
                                            {"times", true},        {"median_s", false},
                                            {"gflops", false},      {"opal_version", true},
                                            {"compiler", true},     {"halide_version", true},
                                            {"llvm_version", true}, {"host", true},
                                            {"worker_id", true},    {"timestamp_us", false}};

constexpr const char* kGroupColumns = "workload_id, target_id, framework, framework_major";

// The SQL expression of one summary row b as its encoded record.
std::string EncodedRecord(const SqlDialect& d) {
  std::string out;
  for (const Field& f : kFields) {
    const std::string col = std::string("b.") + f.column;
    if (!d.postgres) {
      out += (out.empty() ? "opal_best_record(" : ", ") + col;
      continue;
    }
    // float8 as text is its shortest exact form (extra_float_digits = 1 on every connection).
    const std::string text = f.text ? col : "CAST(" + col + " AS TEXT)";
    out += (out.empty() ? "" : " || ") + std::string("CAST(octet_length(") + text +
           ") AS TEXT) || ':' || " + text;
  }
  return d.postgres ? out : out + ")";
}

// Writes the best_rows of the groups that `groups_sql` (a SELECT of kGroupColumns over
// best_records, with `params`) lists: each row holds its group's kBestInRow fastest summary rows,
// read per group in the order of the summary's index and cut after kBestInRow (no sort, no
// rank: a join of the groups with their rows was planned as a scan of the whole summary).
Status WriteRows(SqlSession& db, const std::string& groups_sql, SqlParams params) {
  const std::string n = "$" + std::to_string(params.size() + 1);
  params.push_back(int64_t{kBestInRow});
  const SqlDialect& d = db.dialect();
  return db.Query(
      std::string("INSERT INTO best_rows (") + kGroupColumns +
          ", body) SELECT g.workload_id, g.target_id, g.framework, g.framework_major, (SELECT " +
          std::string(d.concat_agg) + "(" + EncodedRecord(d) +
          ", '') FROM (SELECT * FROM best_records c WHERE c.workload_id = g.workload_id AND "
          "c.target_id = g.target_id AND c.framework = g.framework AND c.framework_major = "
          "g.framework_major ORDER BY c.median_s, c.uid LIMIT " +
          n + ") b) FROM (" + groups_sql + ") g WHERE 1 = 1 ON CONFLICT (" + kGroupColumns +
          ") DO UPDATE SET body = excluded.body WHERE best_rows.body <> excluded.body",
      params);
}

// PostgreSQL: one writer of best_rows at a time, until it commits (readers are not blocked):
// for a rebuild (it may touch any group). The statements after it see every committed change to
// best_records; a writer of new records (LockGroupsOf, best_records.cc) waits for it to commit.
// SQLite's write transaction already excludes every other writer.
Status LockRows(SqlSession& db) {
  if (!db.dialect().postgres) return Status::Ok();
  return db.ExecScript("LOCK TABLE best_rows IN SHARE ROW EXCLUSIVE MODE");
}

}  // namespace

void AppendBestField(std::string& body, std::string_view value) {
  body += std::to_string(value.size());
  body += ':';
  body += value;
}

Status DecodeBestRow(std::string_view body, std::vector<BestRowFields>& out) {
  size_t at = 0;
  auto bad = [] { return Error(ErrorCode::kInternal, "a best_rows body is malformed"); };
  while (at < body.size()) {
    BestRowFields r;
    for (std::string_view& field : r) {
      size_t len = 0, digits = 0;
      for (; at < body.size() && body[at] >= '0' && body[at] <= '9'; ++at, ++digits) {
        if (len > body.size()) return bad();
        len = len * 10 + static_cast<size_t>(body[at] - '0');
      }
      if (digits == 0 || at >= body.size() || body[at] != ':' || body.size() - at - 1 < len)
        return bad();
      field = body.substr(at + 1, len);
      at += 1 + len;
    }
    out.push_back(r);
  }
  return Status::Ok();
}

Status RefreshBestRows(SqlSession& db, int64_t after_id) {
  // The groups where a new summary row is among the kBestInRow first ($3): the others' best did
  // not change (at 10^6 records most new rows enter the summary's 32 but not the first 16). The
  // bounded id range ($2: no upper limit in fact) lets SQLite read the new summary rows through
  // the record_id index (as UpdateBestRecords' trim does).
  return WriteRows(
      db,
      "SELECT DISTINCT n.workload_id, n.target_id, n.framework, n.framework_major FROM "
      "best_records n WHERE n.record_id > $1 AND n.record_id <= $2" +
          WrittenHere(db, "n") +
          " AND (SELECT count(*) FROM "
          "(SELECT 1 FROM best_records c WHERE c.workload_id = n.workload_id AND c.target_id = "
          "n.target_id AND c.framework = n.framework AND c.framework_major = n.framework_major AND "
          "(c.median_s, c.uid) < (n.median_s, n.uid) LIMIT $3) x) < $3",
      {after_id, std::numeric_limits<int64_t>::max(), int64_t{kBestInRow}});
}

Status RebuildBestRows(SqlSession& db, const BestGroups& groups) {
  SqlParams params;
  const std::string where = BestGroupsWhere(groups, params);
  OPAL_RETURN_IF_ERROR(LockRows(db));
  OPAL_RETURN_IF_ERROR(db.Query("DELETE FROM best_rows WHERE 1 = 1" + where, params));
  return WriteRows(
      db,
      std::string("SELECT DISTINCT ") + kGroupColumns + " FROM best_records WHERE 1 = 1" + where,
      params);
}

}  // namespace opal::store
