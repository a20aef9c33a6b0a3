#include "store/sql_record_store.h"

#include "store/best_records.h"
#include "store/record_rows.h"
#include "store/record_writer.h"
#include "store/schema.h"
#include "store/store_util.h"
#include "store/topk_lookup.h"

namespace opal::store {
namespace {

constexpr int kScanPage =
    5000;  // rows per page of a scan: millions of records are never held at once

// A WHERE clause built from the conditions that apply, each with its parameter.
class Where {
 public:
  // `cond` holds one "$" where the parameter's number goes, e.g. "w.key = $".
  Where& Add(std::string_view cond, SqlValue value) {
    params_.push_back(std::move(value));
    const size_t dollar = cond.find('$');
    sql_ += (sql_.empty() ? " WHERE " : " AND ") + std::string(cond.substr(0, dollar + 1)) +
            std::to_string(params_.size()) + std::string(cond.substr(dollar + 1));
    return *this;
  }
  Where& AddIf(bool apply, std::string_view cond, SqlValue value) {
    return apply ? Add(cond, std::move(value)) : *this;
  }
  Where& Raw(std::string_view cond) {
    sql_ += (sql_.empty() ? " WHERE " : " AND ") + std::string(cond);
    return *this;
  }
  const std::string& sql() const { return sql_; }
  SqlParams& params() { return params_; }

 private:
  std::string sql_;
  SqlParams params_;
};

Where FilterWhere(const RecordFilter& f) {
  Where w;
  w.AddIf(!f.workload_key.empty(), "w.key = $", f.workload_key)
      .AddIf(!f.target_key.empty(), "t.key = $", f.target_key)
      .AddIf(!f.op.empty(), "w.op = $", f.op)
      .AddIf(!f.framework.empty(), "r.framework = $", f.framework)
      .AddIf(!f.framework_version.empty(), "r.framework_version = $", f.framework_version);
  if (f.ok_only) w.Raw("r.status = 'ok'");
  return w;
}

class SqlRecordStore final : public RecordStore {
 public:
  explicit SqlRecordStore(std::unique_ptr<SqlSession> db) : db_(std::move(db)) {}

  std::string Describe() const override { return db_->Describe(); }

  Result<int> SchemaVersion() override {
    int v = 0;
    OPAL_RETURN_IF_ERROR(db_->Read([&]() -> Status {
      OPAL_ASSIGN_OR_RETURN(v, ReadSchemaVersion(*db_));
      return Status::Ok();
    }));
    return v;
  }

  Result<int64_t> Put(const std::vector<Record>& records) override {
    int64_t added = 0;
    OPAL_RETURN_IF_ERROR(db_->Transaction([&]() -> Status {
      OPAL_ASSIGN_OR_RETURN(added, db_->writer().Insert(records));
      return Status::Ok();
    }));
    return added;
  }

  Result<std::vector<Record>> TopK(const TopKQuery& q) override {
    std::vector<Record> out;
    OPAL_RETURN_IF_ERROR(db_->Read([&]() -> Status {
      out.clear();
      return topk_.Run(q, out);
    }));
    return out;
  }

  Status Scan(const RecordFilter& f, const std::function<bool(const Record&)>& fn) override {
    int64_t after = 0;
    bool more = true;
    while (more) {
      std::vector<std::pair<int64_t, Record>> page;
      OPAL_RETURN_IF_ERROR(db_->Read([&]() -> Status {
        page.clear();
        Where w = FilterWhere(f);
        w.Add("r.id > $", after);
        Status bad = Status::Ok();
        OPAL_RETURN_IF_ERROR(
            db_->Query(std::string("SELECT ") + kRecordColumns + ", r.id" + kRecordFrom + w.sql() +
                           " ORDER BY r.id LIMIT " + std::to_string(kScanPage),
                       w.params(), [&](const SqlRowView& row) {
                         Result<Record> r = RowToRecord(row);
                         if (!r.ok()) bad = r.status();
                         if (r.ok()) page.emplace_back(row.Int(kRecordColumnCount), std::move(*r));
                         return r.ok();
                       }));
        return bad;
      }));
      more = page.size() == static_cast<size_t>(kScanPage);
      for (const auto& [id, r] : page) {
        if (!fn(r)) return Status::Ok();
        after = id;
      }
    }
    return Status::Ok();
  }

  Result<int64_t> Count(const RecordFilter& f) override {
    int64_t n = 0;
    Where w = FilterWhere(f);
    OPAL_RETURN_IF_ERROR(db_->Read([&] {
      return db_->Query(std::string("SELECT count(*)") + kRecordFrom + w.sql(), w.params(),
                        [&](const SqlRowView& r) {
                          n = r.Int(0);
                          return false;
                        });
    }));
    return n;
  }

  Result<std::vector<StoreSummaryRow>> Summarize() override {
    std::vector<StoreSummaryRow> out;
    OPAL_RETURN_IF_ERROR(db_->Read([&] {
      out.clear();
      return db_->Query(
          "SELECT t.key, w.op, count(*), sum(CASE WHEN r.status = 'ok' THEN 1 ELSE 0 END), "
          "count(DISTINCT r.workload_id), coalesce(max(CASE WHEN r.status = 'ok' THEN r.gflops "
          "END), 0)" +
              std::string(kRecordFrom) + "GROUP BY t.key, w.op ORDER BY t.key, w.op",
          {}, [&](const SqlRowView& r) {
            out.push_back({r.Text(0), r.Text(1), r.Int(2), r.Int(3), r.Int(4), r.Real(5)});
            return true;
          });
    }));
    return out;
  }

  Result<std::set<std::string>> MeasuredConfigs(const std::string& workload_key,
                                                const std::string& target_key,
                                                const std::string& framework,
                                                const std::string& framework_version) override {
    std::set<std::string> out;
    OPAL_RETURN_IF_ERROR(db_->Read([&] {
      out.clear();
      return db_->Query(
          std::string("SELECT DISTINCT r.config") + kRecordFrom +
              "WHERE w.key = $1 AND t.key = $2 AND r.framework = $3 AND r.framework_version = $4",
          {workload_key, target_key, framework, framework_version}, [&](const SqlRowView& r) {
            out.insert(r.Text(0));
            return true;
          });
    }));
    return out;
  }

  Result<int64_t> Prune(const std::string& framework, const std::string& framework_version,
                        int keep) override {
    if (keep < 0) return Error(ErrorCode::kInvalidArgument, "prune: --keep must be >= 0");
    int64_t deleted = 0;
    OPAL_RETURN_IF_ERROR(db_->Transaction([&]() -> Status {
      // Rank the valid records of this exact version per (workload, target); delete everything
      // of this version that is not among the `keep` best; then the best-record summary of that
      // major version is recomputed.
      Status st = db_->Query(
          "DELETE FROM records WHERE framework = $1 AND framework_version = $2 AND id NOT IN ("
          "  SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY workload_id, target_id "
          "                  ORDER BY median_s, uid) AS rank FROM records"
          "                  WHERE framework = $1 AND framework_version = $2 AND status = 'ok') "
          "ranked"
          "  WHERE rank <= $3)",
          {framework, framework_version, int64_t{keep}}, nullptr, &deleted);
      if (!st.ok() || deleted == 0) return st;
      return RebuildBestRecords(*db_, framework, MajorVersion(framework_version));
    }));
    return deleted;
  }

  Result<int64_t> Delete(const RecordFilter& f) override {
    if (MatchesAll(f))
      return Error(ErrorCode::kInvalidArgument, "delete: the filter selects every record");
    int64_t deleted = 0;
    Where w = FilterWhere(f);
    OPAL_RETURN_IF_ERROR(db_->Transaction([&]() -> Status {
      // The summary groups the deleted records belonged to are recomputed after them.
      OPAL_ASSIGN_OR_RETURN(
          auto groups, db_->Rows(std::string("SELECT DISTINCT r.framework, r.framework_major") +
                                     kRecordFrom + w.sql(),
                                 w.params()));
      OPAL_RETURN_IF_ERROR(db_->Query(
          std::string("DELETE FROM records WHERE id IN (SELECT r.id") + kRecordFrom + w.sql() + ")",
          w.params(), nullptr, &deleted));
      for (const auto& g : groups) OPAL_RETURN_IF_ERROR(RebuildBestRecords(*db_, g[0], g[1]));
      return Status::Ok();
    }));
    return deleted;
  }

  Result<int64_t> MergeDuplicates() override {
    // The configs measured more than once, then each one's records merged in its own
    // transaction (a crash leaves every config either merged or as it was).
    std::vector<SqlRow> configs;
    OPAL_RETURN_IF_ERROR(db_->Read([&]() -> Status {
      OPAL_ASSIGN_OR_RETURN(
          configs, db_->Rows("SELECT workload_id, target_id, framework, framework_version, config "
                             "FROM records WHERE status = 'ok' GROUP BY workload_id, target_id, "
                             "framework, framework_version, config HAVING count(*) > 1"));
      return Status::Ok();
    }));
    int64_t removed = 0;
    for (const SqlRow& c : configs) {
      const SqlParams key{std::stoll(c[0]), std::stoll(c[1]), c[2], c[3], c[4]};
      const std::string same =
          " WHERE r.workload_id = $1 AND r.target_id = $2 AND r.framework = $3 AND "
          "r.framework_version = $4 AND "
          "r.config = $5 AND r.status = 'ok'";
      OPAL_RETURN_IF_ERROR(db_->Transaction([&]() -> Status {
        std::vector<Record> members;
        Status bad = Status::Ok();
        OPAL_RETURN_IF_ERROR(
            db_->Query(std::string("SELECT ") + kRecordColumns + kRecordFrom + same, key,
                       [&](const SqlRowView& row) {
                         Result<Record> r = RowToRecord(row);
                         if (r.ok())
                           members.push_back(std::move(*r));
                         else
                           bad = r.status();
                         return r.ok();
                       }));
        OPAL_RETURN_IF_ERROR(bad);
        if (members.size() < 2) return Status::Ok();  // merged meanwhile by another process
        int64_t gone = 0;
        OPAL_RETURN_IF_ERROR(
            db_->Query("DELETE FROM records WHERE id IN (SELECT r.id FROM records r" + same + ")",
                       key, nullptr, &gone));
        OPAL_ASSIGN_OR_RETURN(int64_t added,
                              db_->writer().Insert({MergeMeasurements(std::move(members))}));
        removed += gone - added;
        return RebuildBestGroups(*db_, {.workload_id = std::stoll(c[0]), .target_id = std::stoll(c[1]),
                                        .framework = c[2], .major = MajorVersion(c[3])});
      }));
    }
    return removed;
  }

 private:
  std::unique_ptr<SqlSession> db_;
  TopKLookup topk_{*db_};
};

}  // namespace

std::unique_ptr<RecordStore> NewSqlRecordStore(std::unique_ptr<SqlSession> session) {
  return std::make_unique<SqlRecordStore>(std::move(session));
}

}  // namespace opal::store
