#include "opal/worker.h"

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "distributed/leased_store.h"
#include "opal/log.h"
#include "opal/record_store.h"
#include "opal/task_queue.h"
#include "opal/tune_job.h"
#include "opal/tuning_framework.h"
#include "opal/tuning_search.h"
#include "opal/workload.h"

namespace opal::dist {
namespace {

// Renews a lease every lease_s/3 on the worker's second connection until stopped; remembers a
// lost lease. The queue is used by this keeper's thread only while it lives.
class LeaseKeeper {
 public:
  LeaseKeeper(TaskQueue* queue, const Lease& lease, double lease_s, WorkerInfo info)
      : lease_(lease), thread_([this, queue, lease_s, info] { Loop(queue, lease_s, info); }) {}
  ~LeaseKeeper() {
    {
      std::lock_guard<std::mutex> g(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  std::string lost() {
    std::lock_guard<std::mutex> g(mu_);
    return lost_;
  }

 private:
  void Loop(TaskQueue* queue, double lease_s, WorkerInfo info) {
    std::unique_lock<std::mutex> lock(mu_);
    while (!done_) {
      cv_.wait_for(lock, std::chrono::duration<double>(lease_s / 3));
      if (done_) break;
      lock.unlock();
      Status st =
          queue ? queue->Renew(lease_, lease_s) : Error(ErrorCode::kUnavailable, "no connection");
      if (queue) (void)queue->Heartbeat(info);
      lock.lock();
      if (!st.ok()) {
        log::Warn("worker {}: renewing the lease on task {} failed: {}", info.id, lease_.task.id,
                  st.message());
        if (st.code() == ErrorCode::kFailed) lost_ = st.message();
      }
    }
  }
  const Lease& lease_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::string lost_;
  std::thread thread_;
};

// Times one queue call and tells the observer.
template <typename Fn>
auto Observed(const WorkerOptions& o, WorkerEvent::Kind kind, int64_t task_id, Fn fn) {
  const auto t0 = std::chrono::steady_clock::now();
  auto out = fn();
  if (o.observer) {
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    o.observer(WorkerEvent{kind, task_id, s, NowMicros()});
  }
  return out;
}

SearchOptions SettingsToSearch(const TaskInfo& task, const std::string& worker_id) {
  const TaskSearchSettings s = SettingsForTask(task.settings, task.workload_key);
  SearchOptions o;
  o.max_trials = s.trials;
  o.time_budget_s = s.time_s;
  o.strategy = s.strategy;
  o.early_stop = s.early_stop;
  o.transfer = s.transfer;
  o.seed = s.seed ? s.seed + static_cast<uint64_t>(task.id) : 0;
  o.worker_id = worker_id;
  return o;
}

}  // namespace

std::string DefaultWorkerId() {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  return std::string(host) + "-" + std::to_string(getpid());
}

Result<WorkerStats> RunWorker(const WorkerOptions& o) {
  const std::string id = o.worker_id.empty() ? DefaultWorkerId() : o.worker_id;
  std::shared_ptr<TuningFramework> fw = o.framework_impl;
  if (!fw) {
    OPAL_ASSIGN_OR_RETURN(auto made, MakeTuningFramework(o.framework));
    fw = std::move(made);
  }
  OPAL_ASSIGN_OR_RETURN(auto queue, TaskQueue::Open(o.store_dsn));
  OPAL_ASSIGN_OR_RETURN(auto keeper_queue, TaskQueue::Open(o.store_dsn));  // the lease keeper's
  OPAL_ASSIGN_OR_RETURN(auto store, RecordStore::Open(o.store_dsn));
  const WorkerCaps caps{id, fw->GetProvenance().host, o.target.ExactKey(), fw->Name(),
                        fw->Version()};
  WorkerInfo info{id, caps.host, caps.target_key, "idle", 0, 0};
  static const std::atomic<bool> never{false};
  const std::atomic<bool>& stop = o.stop ? *o.stop : never;
  WorkerStats stats;
  log::Info("worker {} (pid {}) on {} ({} {}), store {}", id, getpid(), caps.target_key,
            caps.framework, caps.framework_version, store->Describe());
  bool explained = false;
  // A heartbeat is a write transaction: at most one every 5 s from this loop (the lease keeper
  // adds its own while a long task runs), so a fleet of fast tasks does not spend the database
  // on them.
  auto beat = [&, last = std::chrono::steady_clock::time_point{}](const char* state) mutable {
    info.state = state;
    const auto now = std::chrono::steady_clock::now();
    if (last != std::chrono::steady_clock::time_point{} && now - last < std::chrono::seconds(5))
      return Status::Ok();
    last = now;
    info.last_seen_us = 0;
    return queue->Heartbeat(info);
  };
  while (true) {
    if (stop.load()) {
      stats.stop_reason = "stopped";
      break;
    }
    if (o.max_tasks > 0 && stats.tasks_done + stats.tasks_failed >= o.max_tasks) {
      stats.stop_reason = "max tasks";
      break;
    }
    OPAL_RETURN_IF_ERROR(beat("idle"));
    const auto asked = std::chrono::steady_clock::now();
    OPAL_ASSIGN_OR_RETURN(std::optional<Lease> lease, queue->Acquire(caps, o.lease_s));
    const double acquire_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - asked).count();
    if (!lease) {
      if (!explained) {
        OPAL_ASSIGN_OR_RETURN(auto reasons, queue->IncompatibleReasons(caps));
        for (const auto& r : reasons) log::Warn("worker {}: refusing tasks: {}", id, r);
        explained = true;
      }
      if (o.exit_when_idle) {
        OPAL_ASSIGN_OR_RETURN(int64_t left, queue->Unfinished(caps));
        if (left == 0) {
          stats.stop_reason = "idle";
          break;
        }
      }
      for (double waited = 0; waited < o.poll_s && !stop.load(); waited += 0.1)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    explained = false;
    const TaskInfo& task = lease->task;
    if (o.observer)
      o.observer(WorkerEvent{WorkerEvent::kAcquired, task.id, acquire_s, NowMicros()});
    log::Info("worker {}: task {} ({}), {} failed attempts of {}, {} lost holders", id, task.id,
              task.workload_key, task.attempts, task.max_attempts, task.lost);
    OPAL_RETURN_IF_ERROR(beat("working"));

    auto workload = Workload::FromJson(Json::parse(task.workload_json, nullptr, false));
    if (!workload.ok()) {
      OPAL_RETURN_IF_ERROR(Observed(o, WorkerEvent::kFailed, task.id, [&] {
        return queue->Fail(*lease, "bad workload in the job: " + workload.status().message());
      }));
      ++stats.tasks_failed;
      continue;
    }
    Result<TuneResult> result = Status::Ok();
    int64_t written = 0;
    std::string lost;
    {
      LeaseKeeper keeper(keeper_queue.get(), *lease, o.lease_s, info);
      LeasedStore leased(*store, *queue, *lease, stop);
      result = TuneWorkload(*fw, *workload, o.target, leased, SettingsToSearch(task, id));
      written = leased.trials_written();
      lost = keeper.lost();
    }
    stats.trials += written;
    if (!lost.empty() || (!result.ok() && result.status().code() == ErrorCode::kFailed &&
                          result.status().message().find("lease on task") != std::string::npos)) {
      log::Warn("worker {}: lost task {}: {}", id, task.id,
                lost.empty() ? result.status().message() : lost);
      if (o.observer) o.observer(WorkerEvent{WorkerEvent::kLost, task.id, 0, NowMicros()});
      continue;  // another worker owns it now; nothing more to write
    }
    if (!result.ok() && result.status().code() == ErrorCode::kCancelled) {
      OPAL_RETURN_IF_ERROR(
          Observed(o, WorkerEvent::kReleased, task.id, [&] { return queue->Release(*lease); }));
      log::Info("worker {}: stopped; task {} released after {} trials", id, task.id, written);
      stats.stop_reason = "stopped";
      break;
    }
    if (!result.ok() && result.status().code() == ErrorCode::kUnavailable) {
      // Not the task's fault: give it back untouched if the database lets us, and stop.
      Status released =
          Observed(o, WorkerEvent::kReleased, task.id, [&] { return queue->Release(*lease); });
      log::Warn("worker {}: the store is unreachable; task {} {} after {} trials: {}", id, task.id,
                released.ok() ? "released" : "left to its lease", written,
                result.status().message());
      return result.status();
    }
    if (!result.ok()) {
      log::Warn("worker {}: task {} failed: {}", id, task.id, result.status().message());
      OPAL_RETURN_IF_ERROR(Observed(o, WorkerEvent::kFailed, task.id, [&] {
        return queue->Fail(*lease, result.status().message());
      }));
      ++stats.tasks_failed;
      continue;
    }
    OPAL_RETURN_IF_ERROR(
        Observed(o, WorkerEvent::kCompleted, task.id, [&] { return queue->Complete(*lease, {}); }));
    ++stats.tasks_done;
    info.tasks_done = stats.tasks_done;
    log::Info("worker {}: task {} done: {} trials, best {:.1f} GFLOP/s ({})", id, task.id,
              result->trials, result->best ? result->best->gflops : 0.0, result->stop_reason);
  }
  info.state = "stopped";
  (void)queue->Heartbeat(info);
  return stats;
}

}  // namespace opal::dist
