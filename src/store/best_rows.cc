#include "store/best_rows.h"

#include <limits>
#include <string>

#include "store/best_records.h"
#include "store/sql_session.h"

namespace opal::store {
namespace {

// best_records' columns in BestField order, and how each becomes text.
enum class Kind { kText, kInt, kReal };
struct Field {
  const char* column;
  Kind kind;
};
constexpr Field kFields[kBestFieldCount] = {
    {"uid", Kind::kText},          {"framework_version", Kind::kText},
    {"config", Kind::kText},       {"error", Kind::kText},
    {"times", Kind::kText},        {"median_s", Kind::kReal},
    {"gflops", Kind::kReal},       {"opal_version", Kind::kText},
    {"compiler", Kind::kText},     {"halide_version", Kind::kText},
    {"llvm_version", Kind::kText}, {"host", Kind::kText},
    {"worker_id", Kind::kText},    {"timestamp_us", Kind::kInt}};

constexpr const char* kGroupColumns = "workload_id, target_id, framework, framework_major";

// The SQL expression of one summary row b as its encoded record.
std::string EncodedRecord(const SqlDialect& d) {
  std::string out;
  for (const Field& f : kFields) {
    const std::string col = std::string("b.") + f.column;
    const std::string text = f.kind == Kind::kReal  ? d.RealText(col)
                             : f.kind == Kind::kInt ? "CAST(" + col + " AS TEXT)"
                                                    : col;
    out += (out.empty() ? "" : " || ") + std::string("CAST(") + d.TextBytes(text) +
           " AS TEXT) || ':' || " + text;
  }
  return out;
}

constexpr const char* kSameGroup =
    "c.workload_id = g.workload_id AND c.target_id = g.target_id AND c.framework = g.framework "
    "AND c.framework_major = g.framework_major";

// Writes the best_rows of the groups that `groups_sql` (a SELECT of kGroupColumns over
// best_records, with `params`) lists: each row holds its group's kBestInRow fastest summary rows.
Status WriteRows(SqlSession& db, const std::string& groups_sql, SqlParams params) {
  const std::string conflict = std::string(" ON CONFLICT (") + kGroupColumns + ") DO UPDATE SET ";
  if (db.dialect().postgres) {
    // Lock the groups' rows (creating the missing ones) in one order, so that the next
    // statement's snapshot sees every committed change to them: a concurrent writer of the same
    // group either committed before the lock was granted or waits for this transaction.
    OPAL_RETURN_IF_ERROR(db.Query(std::string("INSERT INTO best_rows (") + kGroupColumns +
                                      ", depth, body) SELECT DISTINCT " + kGroupColumns +
                                      ", 0, '' FROM (" + groups_sql + ") g ORDER BY " +
                                      kGroupColumns + conflict + "depth = best_rows.depth",
                                  params));
  }
  // A group's cut is its kBestInRow-th row (none when it has fewer); its rows up to the cut go
  // into the body.
  const std::string n = "$" + std::to_string(params.size() + 1);
  params.push_back(int64_t{kBestInRow - 1});
  auto cut = [&](const char* column) {
    return std::string("(SELECT c.") + column + " FROM best_records c WHERE " + kSameGroup +
           " ORDER BY c.median_s, c.uid LIMIT 1 OFFSET " + n + ")";
  };
  const SqlDialect& d = db.dialect();
  return db.Query(
      std::string("INSERT INTO best_rows (") + kGroupColumns +
          ", depth, body) SELECT b.workload_id, b.target_id, b.framework, b.framework_major, "
          "count(*), " +
          std::string(d.concat_agg) + "(" + EncodedRecord(d) +
          ", '') FROM (SELECT g.workload_id, g.target_id, g.framework, g.framework_major, " +
          cut("median_s") + " AS cut_m, " + cut("uid") + " AS cut_u FROM (" + groups_sql +
          ") g) g JOIN best_records b ON b.workload_id = g.workload_id AND b.target_id = "
          "g.target_id AND b.framework = g.framework AND b.framework_major = g.framework_major "
          "WHERE g.cut_m IS NULL OR (b.median_s, b.uid) <= (g.cut_m, g.cut_u) GROUP BY "
          "b.workload_id, b.target_id, b.framework, b.framework_major" +
          conflict + "depth = excluded.depth, body = excluded.body",
      params);
}

}  // namespace

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
  // The bounded id range ($2: no upper limit in fact) lets SQLite read the new summary rows
  // through the record_id index (as UpdateBestRecords' trim does).
  return WriteRows(db,
                   std::string("SELECT DISTINCT ") + kGroupColumns +
                       " FROM best_records WHERE record_id > $1 AND record_id <= $2",
                   {after_id, std::numeric_limits<int64_t>::max()});
}

Status RebuildBestRows(SqlSession& db, const BestGroups& groups) {
  SqlParams params;
  const std::string where = BestGroupsWhere(groups, params);
  OPAL_RETURN_IF_ERROR(db.Query("DELETE FROM best_rows WHERE 1 = 1" + where, params));
  return WriteRows(db,
                   std::string("SELECT DISTINCT ") + kGroupColumns +
                       " FROM best_records WHERE 1 = 1" + where,
                   params);
}

}  // namespace opal::store
