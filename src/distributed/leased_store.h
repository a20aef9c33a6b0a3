// A RecordStore view for a worker holding a task lease: reads go to the shared store; every Put
// goes through TaskQueue::AddTrials, so a trial is stored only while the lease is held (and is
// counted on the task). When the worker has been asked to stop, Put stores the trial and then
// returns kCancelled, which ends the search after the trial in flight.
#pragma once

#include <atomic>
#include <memory>

#include "opal/record_store.h"
#include "opal/task_queue.h"

namespace opal::dist {

class LeasedStore final : public RecordStore {
 public:
  LeasedStore(RecordStore& store, TaskQueue& queue, const Lease& lease,
              const std::atomic<bool>& stop)
      : store_(store), queue_(queue), lease_(lease), stop_(stop) {}

  std::string Describe() const override { return store_.Describe(); }
  Result<int> SchemaVersion() override { return store_.SchemaVersion(); }
  Result<int64_t> Put(const std::vector<Record>& records) override;
  Result<std::vector<Record>> TopK(const TopKQuery& q) override { return store_.TopK(q); }
  Status Scan(const RecordFilter& f, const std::function<bool(const Record&)>& fn) override {
    return store_.Scan(f, fn);
  }
  Result<int64_t> Count(const RecordFilter& f) override { return store_.Count(f); }
  Result<std::vector<StoreSummaryRow>> Summarize() override { return store_.Summarize(); }
  Result<std::set<std::string>> MeasuredConfigs(const std::string& w, const std::string& t,
                                                const std::string& f,
                                                const std::string& v) override {
    return store_.MeasuredConfigs(w, t, f, v);
  }
  Result<int64_t> Prune(const std::string&, const std::string&, int) override {
    return Error(ErrorCode::kUnsupported, "a worker does not prune");
  }
  Result<int64_t> Delete(const RecordFilter&) override {
    return Error(ErrorCode::kUnsupported, "a worker does not delete records");
  }
  Result<int64_t> MergeDuplicates() override {
    return Error(ErrorCode::kUnsupported, "a worker does not merge records");
  }

  int64_t trials_written() const { return written_; }

 private:
  RecordStore& store_;
  TaskQueue& queue_;
  const Lease& lease_;
  const std::atomic<bool>& stop_;
  int64_t written_ = 0;
};

}  // namespace opal::dist
