#include "store/memory_store.h"

#include <algorithm>
#include <map>
#include <tuple>
#include <unordered_set>

#include "store/store_util.h"

namespace opal::store {
namespace {

class MemoryStore final : public RecordStore {
 public:
  std::string Describe() const override { return "memory:"; }
  Result<int> SchemaVersion() override { return 0; }

  Result<int64_t> Put(const std::vector<Record>& records) override {
    for (const Record& r : records) OPAL_RETURN_IF_ERROR(CheckFinalized(r));
    int64_t added = 0;
    for (const Record& r : records) {
      if (!uids_.insert(r.uid).second) continue;
      records_.push_back(r);
      ++added;
    }
    return added;
  }

  Result<std::vector<Record>> TopK(const TopKQuery& q) override {
    const std::string major = MajorVersion(q.framework_version);
    auto eligible = [&](const Record& r) {
      return r.status == TrialStatus::kOk && r.workload_key == q.workload_key &&
             (q.framework.empty() || r.framework == q.framework) &&
             (major.empty() || MajorVersion(r.framework_version) == major);
    };
    auto by_speed = [](const Record* a, const Record* b) {
      return std::tie(a->median_s, a->uid) < std::tie(b->median_s, b->uid);
    };
    std::vector<const Record*> exact, coarse;
    for (const Record& r : records_) {
      if (!eligible(r)) continue;
      if (r.target_key == q.target_key)
        exact.push_back(&r);
      else if (q.coarse_fallback && !q.target_coarse_key.empty() &&
               r.target_coarse_key == q.target_coarse_key)
        coarse.push_back(&r);
    }
    std::sort(exact.begin(), exact.end(), by_speed);
    std::sort(coarse.begin(), coarse.end(), by_speed);
    std::vector<Record> out;
    for (auto* list : {&exact, &coarse})
      for (const Record* r : *list)
        if (static_cast<int>(out.size()) < q.k) out.push_back(*r);
    return out;
  }

  Status Scan(const RecordFilter& f, const std::function<bool(const Record&)>& fn) override {
    for (const Record& r : records_)
      if (Matches(f, r) && !fn(r)) break;
    return Status::Ok();
  }

  Result<int64_t> Count(const RecordFilter& f) override {
    return static_cast<int64_t>(
        std::count_if(records_.begin(), records_.end(), [&](auto& r) { return Matches(f, r); }));
  }

  Result<std::vector<StoreSummaryRow>> Summarize() override {
    std::map<std::pair<std::string, std::string>, StoreSummaryRow> rows;
    std::map<std::pair<std::string, std::string>, std::unordered_set<std::string>> workloads;
    for (const Record& r : records_) {
      auto key = std::pair{r.target_key, r.op};
      StoreSummaryRow& row = rows[key];
      row.target_key = r.target_key;
      row.op = r.op;
      ++row.records;
      if (r.status == TrialStatus::kOk) {
        ++row.ok_records;
        row.best_gflops = std::max(row.best_gflops, r.gflops);
      }
      workloads[key].insert(r.workload_key);
    }
    std::vector<StoreSummaryRow> out;
    for (auto& [key, row] : rows) {
      row.workloads = static_cast<int64_t>(workloads[key].size());
      out.push_back(row);
    }
    return out;
  }

  Result<std::set<std::string>> MeasuredConfigs(const std::string& workload_key,
                                                const std::string& target_key,
                                                const std::string& framework,
                                                const std::string& framework_version) override {
    std::set<std::string> out;
    for (const Record& r : records_)
      if (r.workload_key == workload_key && r.target_key == target_key &&
          r.framework == framework && r.framework_version == framework_version)
        out.insert(r.config_json);
    return out;
  }

  Result<int64_t> Prune(const std::string& framework, const std::string& framework_version,
                        int keep) override {
    if (keep < 0) return Error(ErrorCode::kInvalidArgument, "prune: --keep must be >= 0");
    std::map<std::pair<std::string, std::string>, std::vector<const Record*>> groups;
    for (const Record& r : records_)
      if (r.framework == framework && r.framework_version == framework_version &&
          r.status == TrialStatus::kOk)
        groups[{r.workload_key, r.target_key}].push_back(&r);
    std::unordered_set<std::string> kept;
    for (auto& [key, list] : groups) {
      std::sort(list.begin(), list.end(), [](auto* a, auto* b) {
        return std::tie(a->median_s, a->uid) < std::tie(b->median_s, b->uid);
      });
      for (size_t i = 0; i < list.size() && i < static_cast<size_t>(keep); ++i)
        kept.insert(list[i]->uid);
    }
    const size_t before = records_.size();
    std::erase_if(records_, [&](const Record& r) {
      const bool gone = r.framework == framework && r.framework_version == framework_version &&
                        !kept.count(r.uid);
      if (gone) uids_.erase(r.uid);
      return gone;
    });
    return static_cast<int64_t>(before - records_.size());
  }

  Result<int64_t> Delete(const RecordFilter& f) override {
    if (MatchesAll(f))
      return Error(ErrorCode::kInvalidArgument, "delete: the filter selects every record");
    const size_t before = records_.size();
    std::erase_if(records_, [&](const Record& r) {
      const bool gone = Matches(f, r);
      if (gone) uids_.erase(r.uid);
      return gone;
    });
    return static_cast<int64_t>(before - records_.size());
  }

  Result<int64_t> MergeDuplicates() override {
    std::map<std::tuple<std::string, std::string, std::string, std::string, std::string>,
             std::vector<Record>>
        groups;
    for (const Record& r : records_)
      if (r.status == TrialStatus::kOk)
        groups[{r.workload_key, r.target_key, r.framework, r.framework_version, r.config_json}]
            .push_back(r);
    int64_t removed = 0;
    for (auto& [key, members] : groups) {
      if (members.size() < 2) continue;
      std::unordered_set<std::string> gone;
      for (const Record& m : members) gone.insert(m.uid);
      Record merged = MergeMeasurements(std::move(members));
      std::erase_if(records_, [&](const Record& r) { return gone.count(r.uid) > 0; });
      for (const std::string& u : gone) uids_.erase(u);
      removed += static_cast<int64_t>(gone.size());
      if (uids_.insert(merged.uid).second) {
        records_.push_back(merged);
        --removed;
      }
    }
    return removed;
  }

 private:
  std::vector<Record> records_;  // insertion order
  std::unordered_set<std::string> uids_;
};

}  // namespace

std::unique_ptr<RecordStore> NewMemoryStore() { return std::make_unique<MemoryStore>(); }

}  // namespace opal::store
