#include "store/topk_lookup.h"

#include <string_view>

#include "store/best_records.h"
#include "store/record_rows.h"
#include "store/sql_session.h"
#include "store/store_util.h"

namespace opal::store {
namespace {

// Bounds what a long-lived session remembers; past it the maps start over.
constexpr size_t kMaxRemembered = 1 << 16;

// Columns 1..6 of a full record row (w.key, w.json, w.op, t.key, t.coarse_key, t.canonical).
constexpr int kWorkloadCol = 1, kTargetCol = 4, kFirstOwnCol = 7;

// The columns of kRecordColumns / kBestColumns after the workload's and target's.
std::string_view OwnColumns(std::string_view full) {
  constexpr std::string_view kLastJoined = "t.canonical, ";
  return full.substr(full.find(kLastJoined) + kLastJoined.size());
}

// A row of `uid, [t.key, t.coarse_key, t.canonical,] own columns...` seen as the full record row
// RowToRecord reads: the workload's columns, and the target's when it is one, come from memory.
class KnownKeysRow final : public SqlRowView {
 public:
  KnownKeysRow(const SqlRowView& row, const std::string& workload_key,
               const TopKLookup::KeyRow& workload, const std::string* target_key,
               const TopKLookup::KeyRow* target)
      : row_(row), wkey_(workload_key), w_(workload), tkey_(target_key), t_(target) {}

  int Columns() const override { return kRecordColumnCount; }
  std::string Text(int col) const override {
    if (col == kWorkloadCol) return wkey_;
    if (col == kWorkloadCol + 1) return w_.a;
    if (col == kWorkloadCol + 2) return w_.b;
    if (t_ && col == kTargetCol) return *tkey_;
    if (t_ && col == kTargetCol + 1) return t_->a;
    if (t_ && col == kTargetCol + 2) return t_->b;
    return row_.Text(Source(col));
  }
  int64_t Int(int col) const override { return row_.Int(Source(col)); }
  double Real(int col) const override { return row_.Real(Source(col)); }

 private:
  // Where a column of the full row is in the row read (uid first, then the target's when read).
  int Source(int col) const {
    if (col == 0) return 0;
    if (col < kFirstOwnCol) return col - kTargetCol + 1;  // a target column read per row
    return col - kFirstOwnCol + (t_ ? 1 : 4);
  }

  const SqlRowView& row_;
  const std::string& wkey_;
  const TopKLookup::KeyRow& w_;
  const std::string* tkey_;
  const TopKLookup::KeyRow* t_;
};

}  // namespace

Status TopKLookup::Run(const TopKQuery& q, std::vector<Record>& out) {
  OPAL_RETURN_IF_ERROR(Resolve(q.workload_key, q.target_key));
  const auto w = workloads_.find(q.workload_key);
  if (w == workloads_.end()) return Status::Ok();  // no record of this workload anywhere
  const auto t = targets_.find(q.target_key);
  if (t != targets_.end()) OPAL_RETURN_IF_ERROR(Best(q, w->second, &t->second, q.k, out));
  const int missing = q.k - static_cast<int>(out.size());
  if (q.coarse_fallback && missing > 0 && !q.target_coarse_key.empty())
    OPAL_RETURN_IF_ERROR(Best(q, w->second, nullptr, missing, out));
  return Status::Ok();
}

Status TopKLookup::Resolve(const std::string& workload_key, const std::string& target_key) {
  const bool need_w = !workloads_.contains(workload_key);
  const bool need_t = !targets_.contains(target_key);
  if (!need_w && !need_t) return Status::Ok();
  if (workloads_.size() >= kMaxRemembered) workloads_.clear();
  if (targets_.size() >= kMaxRemembered) targets_.clear();
  std::string sql;
  SqlParams params;
  auto add = [&](int table, const char* select) {
    params.push_back(table == 0 ? workload_key : target_key);
    sql += (sql.empty() ? "" : " UNION ALL ") + std::string(select) + std::to_string(params.size());
  };
  if (need_w) add(0, "SELECT 0, id, json, op FROM workloads WHERE key = $");
  if (need_t) add(1, "SELECT 1, id, coarse_key, canonical FROM targets WHERE key = $");
  return db_.Query(sql, params, [&](const SqlRowView& row) {
    const bool workload = row.Int(0) == 0;
    (workload ? workloads_ : targets_)[workload ? workload_key : target_key] =
        KeyRow{row.Int(1), row.Text(2), row.Text(3)};
    return true;
  });
}

Status TopKLookup::Best(const TopKQuery& q, const KeyRow& workload, const KeyRow* target, int limit,
                        std::vector<Record>& out) {
  // k <= kBestPerGroup: the summary's rows of the group, in its index order, stop after `limit`.
  const bool summary = limit <= kBestPerGroup;
  const std::string a = summary ? "b." : "r.";
  SqlParams params{workload.id};
  auto param = [&](SqlValue v) {
    params.push_back(std::move(v));
    return "$" + std::to_string(params.size());
  };
  std::string sql = "SELECT " + a + "uid, " + (target ? "" : "t.key, t.coarse_key, t.canonical, ") +
                    std::string(OwnColumns(summary ? kBestColumns : kRecordColumns)) +
                    (summary ? " FROM best_records b" : " FROM records r");
  if (target) {
    sql += " WHERE " + a + "target_id = " + param(target->id);
  } else {
    sql += " JOIN targets t ON t.id = " + a +
           "target_id WHERE t.coarse_key = " + param(q.target_coarse_key) + " AND t.key <> " +
           param(q.target_key);
  }
  sql += " AND " + a + "workload_id = $1";
  if (!summary) sql += " AND r.status = 'ok'";
  if (!q.framework.empty()) sql += " AND " + a + "framework = " + param(q.framework);
  const std::string major = MajorVersion(q.framework_version);
  if (!major.empty()) sql += " AND " + a + "framework_major = " + param(major);
  sql += " ORDER BY " + a + "median_s, " + a + "uid LIMIT " + param(int64_t{limit});
  Status bad = Status::Ok();
  OPAL_RETURN_IF_ERROR(db_.Query(sql, params, [&](const SqlRowView& row) {
    Result<Record> r =
        RowToRecord(KnownKeysRow(row, q.workload_key, workload, &q.target_key, target));
    if (!r.ok()) bad = r.status();
    if (r.ok()) out.push_back(std::move(*r));
    return r.ok();
  }));
  return bad;
}

}  // namespace opal::store
