// Small helpers shared by the backends (kept out of the public header).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "opal/record_store.h"

namespace opal::store {

inline std::string MajorVersion(std::string_view v) { return FrameworkMajorVersion(v); }

// True when `r` passes `f` (the memory backend's filter; SQL backends express it in WHERE).
inline bool Matches(const RecordFilter& f, const Record& r) {
  return (f.workload_key.empty() || f.workload_key == r.workload_key) &&
         (f.target_key.empty() || f.target_key == r.target_key) && (f.op.empty() || f.op == r.op) &&
         (f.framework.empty() || f.framework == r.framework) &&
         (f.framework_version.empty() || f.framework_version == r.framework_version) &&
         (!f.ok_only || r.status == TrialStatus::kOk);
}

// Put's precondition: every record finalized with a uid that matches its content.
Status CheckFinalized(const Record& r);

// True when the filter selects every record.
inline bool MatchesAll(const RecordFilter& f) {
  return f.workload_key.empty() && f.target_key.empty() && f.op.empty() && f.framework.empty() &&
         f.framework_version.empty() && !f.ok_only;
}

// One record from valid records of one config (RecordStore::MergeDuplicates): every time, oldest
// measurement first; the oldest's provenance and timestamp; finalized (new uid).
Record MergeMeasurements(std::vector<Record> same_config);

}  // namespace opal::store
