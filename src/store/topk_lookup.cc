#include "store/topk_lookup.h"

#include <algorithm>
#include <charconv>
#include <string_view>

#include "store/best_records.h"
#include "store/best_rows.h"
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

// A record decoded from a best_rows body, seen as the row KnownKeysRow wraps when the target is
// known: uid, then kBestColumns' own columns (framework, framework_version, config, status, ...).
class DecodedRow final : public SqlRowView {
 public:
  DecodedRow(const BestRowFields& f, std::string_view framework) : f_(f), framework_(framework) {}

  int Columns() const override { return 16; }
  std::string Text(int col) const override { return std::string(View(col)); }
  int64_t Int(int col) const override {
    int64_t v = 0;
    const std::string_view t = View(col);
    std::from_chars(t.data(), t.data() + t.size(), v);
    return v;
  }
  double Real(int col) const override { return ParseReal(View(col)); }

  static double ParseReal(std::string_view t) {
    double v = 0;
    std::from_chars(t.data(), t.data() + t.size(), v);
    return v;
  }

 private:
  std::string_view View(int col) const {
    if (col == 0) return f_[kBestUid];
    if (col == 1) return framework_;
    if (col == 4) return "ok";
    return f_[static_cast<size_t>(col < 4 ? col - 1 : col - 2)];
  }

  const BestRowFields& f_;
  std::string_view framework_;
};

}  // namespace

// One best_rows row read: its group's framework and body, and the row's target when the
// lookup spans targets.
struct TopKLookup::Body {
  static Body Of(std::string framework, std::string body) {
    Body b;
    b.framework = std::move(framework);
    b.body = std::move(body);
    return b;
  }
  std::string framework, body, target_key;
  KeyRow target;
};

Status TopKLookup::Run(const TopKQuery& q, std::vector<Record>& out) {
  if (q.k >= 1 && q.k <= kBestInRow) return FromRows(q, out);
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
  sql += FrameworkFilter(q, a, params);
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

std::string TopKLookup::FrameworkFilter(const TopKQuery& q, const std::string& alias,
                                        SqlParams& params) {
  std::string sql;
  auto add = [&](const char* column, std::string value) {
    params.push_back(std::move(value));
    sql += " AND " + alias + column + " = $" + std::to_string(params.size());
  };
  if (!q.framework.empty()) add("framework", q.framework);
  if (std::string major = MajorVersion(q.framework_version); !major.empty())
    add("framework_major", std::move(major));
  return sql;
}

Status TopKLookup::FromRows(const TopKQuery& q, std::vector<Record>& out) {
  std::deque<Body> bodies;
  auto w = workloads_.find(q.workload_key);
  auto t = targets_.find(q.target_key);
  if (w == workloads_.end() || t == targets_.end()) {
    // Not seen yet: the workload's row (and the target's, unless remembered: a build looks up
    // every workload on one target) and the groups' rows in one statement.
    if (workloads_.size() >= kMaxRemembered) workloads_.clear();
    if (targets_.size() >= kMaxRemembered) targets_.clear();
    t = targets_.find(q.target_key);
    const bool known = t != targets_.end();
    SqlParams params{q.workload_key};
    if (known)
      params.push_back(t->second.id);
    else
      params.push_back(q.target_key);
    const std::string sql = std::string("SELECT w.id, w.json, w.op, ") +
                            (known ? "0, '', ''" : "t.id, t.coarse_key, t.canonical") +
                            ", s.framework, s.body FROM workloads w" +
                            (known ? "" : " LEFT JOIN targets t ON t.key = $2") +
                            " LEFT JOIN best_rows s ON s.workload_id = w.id AND s.target_id = " +
                            (known ? "$2" : "t.id") + FrameworkFilter(q, "s.", params) +
                            " WHERE w.key = $1";
    OPAL_RETURN_IF_ERROR(db_.Query(sql, params, [&](const SqlRowView& row) {
      workloads_[q.workload_key] = KeyRow{row.Int(0), row.Text(1), row.Text(2)};
      if (!known && row.Int(3) > 0)
        targets_[q.target_key] = KeyRow{row.Int(3), row.Text(4), row.Text(5)};
      if (std::string body = row.Text(7); !body.empty())
        bodies.push_back(Body::Of(row.Text(6), std::move(body)));
      return true;
    }));
    w = workloads_.find(q.workload_key);
    if (w == workloads_.end()) return Status::Ok();  // no record of this workload anywhere
    t = targets_.find(q.target_key);
  } else {
    SqlParams params{w->second.id, t->second.id};
    const std::string sql =
        "SELECT framework, body FROM best_rows WHERE workload_id = $1 AND target_id = $2" +
        FrameworkFilter(q, "", params);
    OPAL_RETURN_IF_ERROR(db_.Query(sql, params, [&](const SqlRowView& row) {
      bodies.push_back(Body::Of(row.Text(0), row.Text(1)));
      return true;
    }));
  }
  if (t != targets_.end()) OPAL_RETURN_IF_ERROR(Emit(q, w->second, &t->second, bodies, q.k, out));
  const int missing = q.k - static_cast<int>(out.size());
  if (!q.coarse_fallback || missing <= 0 || q.target_coarse_key.empty()) return Status::Ok();
  // The other targets of the coarse key: their rows are read with each group's row.
  bodies.clear();
  SqlParams params{w->second.id, q.target_coarse_key, q.target_key};
  const std::string sql =
      "SELECT t.key, t.coarse_key, t.canonical, t.id, s.framework, s.body FROM best_rows s JOIN "
      "targets t ON t.id = s.target_id WHERE s.workload_id = $1 AND t.coarse_key = $2 AND t.key "
      "<> $3" +
      FrameworkFilter(q, "s.", params);
  OPAL_RETURN_IF_ERROR(db_.Query(sql, params, [&](const SqlRowView& row) {
    bodies.push_back(Body::Of(row.Text(4), row.Text(5)));
    bodies.back().target_key = row.Text(0);
    bodies.back().target = KeyRow{row.Int(3), row.Text(1), row.Text(2)};
    return true;
  }));
  return Emit(q, w->second, nullptr, bodies, missing, out);
}

Status TopKLookup::Emit(const TopKQuery& q, const KeyRow& workload, const KeyRow* target,
                        const std::deque<Body>& bodies, int limit, std::vector<Record>& out) {
  struct Candidate {
    double median;
    const BestRowFields* fields;
    const Body* body;
  };
  std::vector<BestRowFields> fields;
  std::vector<size_t> owner;  // fields[i] came from bodies[owner[i]]
  for (size_t b = 0; b < bodies.size(); ++b) {
    OPAL_RETURN_IF_ERROR(DecodeBestRow(bodies[b].body, fields));
    owner.resize(fields.size(), b);
  }
  std::vector<Candidate> c;
  c.reserve(fields.size());
  for (size_t i = 0; i < fields.size(); ++i)
    c.push_back({DecodedRow::ParseReal(fields[i][kBestMedian]), &fields[i], &bodies[owner[i]]});
  // (median_s, uid): the order of the summary's index and of every SQL lookup.
  const size_t n = std::min(c.size(), static_cast<size_t>(std::max(limit, 0)));
  std::partial_sort(c.begin(), c.begin() + static_cast<ptrdiff_t>(n), c.end(),
                    [](const Candidate& a, const Candidate& b) {
                      if (a.median != b.median) return a.median < b.median;
                      return (*a.fields)[kBestUid] < (*b.fields)[kBestUid];
                    });
  for (size_t i = 0; i < n; ++i) {
    const Body& body = *c[i].body;
    const DecodedRow row(*c[i].fields, body.framework);
    Result<Record> r = RowToRecord(KnownKeysRow(row, q.workload_key, workload,
                                                target ? &q.target_key : &body.target_key,
                                                target ? target : &body.target));
    if (!r.ok()) return r.status();
    out.push_back(std::move(*r));
  }
  return Status::Ok();
}

}  // namespace opal::store
