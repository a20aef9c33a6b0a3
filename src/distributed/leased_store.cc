#include "distributed/leased_store.h"

#include "opal/log.h"

namespace opal::dist {

Result<int64_t> LeasedStore::Put(const std::vector<Record>& records) {
  OPAL_RETURN_IF_ERROR(queue_.AddTrials(lease_, records));
  written_ += static_cast<int64_t>(records.size());
  // After the commit: a line per trial the store acknowledged (the soak test's own log of them).
  for (const Record& r : records)
    log::Debug("worker {}: task {}: trial stored: {}", lease_.worker_id, lease_.task.id, r.uid);
  if (stop_.load()) {
    return Error(ErrorCode::kCancelled, "worker asked to stop; the trial in flight was stored");
  }
  return static_cast<int64_t>(records.size());
}

}  // namespace opal::dist
