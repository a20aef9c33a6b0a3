// Queue benchmark: N real worker processes (dist::RunWorker, the loop `opal worker` runs) pull
// the tasks of one job from a PostgreSQL store. Measurement is faked -- a framework whose
// Measure returns at once, for this benchmark only -- so the queue is what is measured: every
// task is Acquire, one trial written (AddTrials), Complete, with the worker's heartbeats.
//   queue_bench [--workers N] [--tasks T] [--seconds S] [--lease S]
// OPAL_BENCH_PG_DSN names the server (bench/store/run-queue.sh starts one). Prints acquire and
// complete p50/p99, completed tasks per second, and checks against the workers' own logs that no
// task was held by two workers at once, none completed twice and none lost.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "opal/log.h"
#include "opal/record_store.h"
#include "opal/task_queue.h"
#include "opal/tuning_framework.h"
#include "opal/worker.h"
#include "store/store_test_util.h"

namespace {

using opal::dist::WorkerEvent;

// Measures nothing: every config "runs" in a microsecond. For this benchmark only.
class InstantFramework final : public opal::TuningFramework {
 public:
  std::string Name() const override { return "instant"; }
  std::string Version() const override { return "1.0"; }
  opal::Provenance GetProvenance() const override {
    return {"bench", "none", "", "", "benchhost", ""};
  }
  bool Supports(const opal::Workload&) const override { return true; }
  opal::Result<opal::ConfigSpace> Space(const opal::Workload&, const opal::Target&) const override {
    std::vector<int64_t> values(1000);
    for (int i = 0; i < 1000; ++i) values[static_cast<size_t>(i)] = i;
    return opal::ConfigSpace("instant", {opal::Knob{"k", values, "a knob"}}, {});
  }
  opal::TrialResult Measure(const opal::Workload&, const opal::Config&, const opal::Target&,
                            const opal::MeasureOptions&) override {
    return {opal::TrialStatus::kOk, "", {1e-6, 1.1e-6, 1.2e-6}, 0, 0};
  }
  std::vector<double> Features(const opal::Workload&, const opal::Config&,
                               const opal::Target&) const override {
    return {};
  }
  std::vector<std::string> FeatureNames() const override { return {}; }
};

std::atomic<bool> g_stop{false};
void OnTerm(int) { g_stop = true; }

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

// One worker process: runs until the queue is empty or SIGTERM, logging its events.
int Worker(const std::string& dsn, int index, double lease_s, const std::string& log_path) {
  signal(SIGTERM, OnTerm);
  opal::log::SetLevel(
      opal::log::Level::kWarn);  // a line per task from hundreds of workers is noise here
  std::ostringstream log;
  opal::dist::WorkerOptions o;
  o.store_dsn = dsn;
  o.worker_id = "bench-" + std::to_string(index);
  o.target = opal::Target::DetectHost();
  o.framework_impl = std::make_shared<InstantFramework>();
  o.exit_when_idle = true;
  o.lease_s = lease_s;
  o.poll_s = 0.05;
  o.stop = &g_stop;
  o.observer = [&](const WorkerEvent& e) {
    log << static_cast<int>(e.kind) << ' ' << e.task_id << ' ' << e.queue_s << ' ' << e.time_us
        << '\n';
  };
  auto stats = opal::dist::RunWorker(o);
  std::ofstream(log_path) << log.str();
  if (!stats.ok()) {
    std::fprintf(stderr, "worker %d: %s\n", index, stats.status().message().c_str());
    return 1;
  }
  return 0;
}

opal::Result<std::string> SubmitJob(const std::string& dsn, int tasks) {
  OPAL_ASSIGN_OR_RETURN(auto queue, opal::TaskQueue::Open(dsn));
  const opal::Target host = opal::Target::DetectHost();
  opal::JobSpec spec;
  spec.name = "queue-bench";
  opal::Json per_task = opal::Json::object();
  for (int i = 0; i < tasks; ++i) {
    OPAL_ASSIGN_OR_RETURN(auto w, opal::Workload::FromJson({{"op", "dense"},
                                                            {"dtype", "float32"},
                                                            {"m", 1 + i},
                                                            {"k", 64},
                                                            {"n", 64},
                                                            {"trans_a", false},
                                                            {"trans_b", false}}));
    spec.workloads.push_back({w.Key(), w.CanonicalJson()});
    per_task[w.Key()] = {{"trials", 1}, {"time_s", 0}};
  }
  spec.target_string = host.CanonicalString();
  spec.target_key = host.ExactKey();
  spec.framework = "instant";
  spec.framework_version = "1.0";
  spec.settings = {{"strategy", "random"}, {"transfer", 0}, {"seed", 1}, {"tasks", per_task}};
  return queue->Submit(spec);
}

}  // namespace

int main(int argc, char** argv) {
  int workers = 64, tasks = 20000;
  double seconds = 60, lease_s = 60;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--workers")
      workers = std::stoi(value);
    else if (flag == "--tasks")
      tasks = std::stoi(value);
    else if (flag == "--seconds")
      seconds = std::stod(value);
    else if (flag == "--lease")
      lease_s = std::stod(value);
    else {
      std::fprintf(stderr,
                   "usage: queue_bench [--workers N] [--tasks T] [--seconds S] [--lease S]\n");
      return 2;
    }
  }
  const char* server = std::getenv("OPAL_BENCH_PG_DSN");
  if (!server) {
    std::fprintf(stderr,
                 "queue_bench: OPAL_BENCH_PG_DSN is not set (use bench/store/run-queue.sh)\n");
    return 2;
  }
  auto dsn = opal::store::testing::NewPostgresDatabase(
      server, "opal_queue_bench_" + std::to_string(getpid()));
  if (!dsn.ok()) {
    std::fprintf(stderr, "queue_bench: %s\n", dsn.status().message().c_str());
    return 1;
  }
  auto job = SubmitJob(*dsn, tasks);
  if (!job.ok()) {
    std::fprintf(stderr, "queue_bench: %s\n", job.status().message().c_str());
    return 1;
  }
  const std::string logs = "/tmp/opal_queue_bench_" + std::to_string(getpid());
  std::vector<pid_t> kids;
  for (int i = 0; i < workers; ++i) {
    pid_t pid = fork();
    if (pid == 0) _exit(Worker(*dsn, i, lease_s, logs + "." + std::to_string(i)));
    kids.push_back(pid);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  size_t running = kids.size();
  int failed_workers = 0;
  bool stopped = false;
  while (running > 0) {
    int status = 0;
    pid_t done = waitpid(-1, &status, WNOHANG);
    if (done > 0) {
      --running;
      failed_workers += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
      continue;
    }
    if (!stopped && std::chrono::steady_clock::now() > deadline) {
      for (pid_t k : kids) kill(k, SIGTERM);  // finish the task in hand, give nothing else back
      stopped = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // The workers' logs: who acquired and completed what, and how long the calls took.
  std::vector<double> acquire_ms, complete_ms;
  std::map<int64_t, int> acquired, completed, released;
  int64_t first_us = INT64_MAX, last_us = 0;
  for (int i = 0; i < workers; ++i) {
    std::ifstream in(logs + "." + std::to_string(i));
    int kind;
    int64_t id, t;
    double s;
    while (in >> kind >> id >> s >> t) {
      if (kind == WorkerEvent::kAcquired) {
        acquire_ms.push_back(s * 1e3);
        ++acquired[id];
        first_us = std::min(first_us, t);
      } else if (kind == WorkerEvent::kCompleted) {
        complete_ms.push_back(s * 1e3);
        ++completed[id];
        last_us = std::max(last_us, t);
      } else if (kind == WorkerEvent::kReleased) {
        ++released[id];  // given back at the stop (SIGTERM): another worker may take it later
      }
    }
    std::remove((logs + "." + std::to_string(i)).c_str());
  }
  int held_twice = 0, done_twice = 0;
  int64_t released_total = 0;
  for (auto& [id, n] : released) released_total += n;
  // Held twice: acquired more often than it was given back and taken again.
  for (auto& [id, n] : acquired) held_twice += n - (released.count(id) ? released[id] : 0) > 1;
  for (auto& [id, n] : completed) done_twice += n > 1;
  auto queue = opal::TaskQueue::Open(*dsn);
  auto store = opal::RecordStore::Open(*dsn);
  if (!queue.ok() || !store.ok()) return 1;
  auto list = (*queue)->Tasks(*job);
  auto records = (*store)->Count({});
  if (!list.ok() || !records.ok()) return 1;
  int64_t done = 0, pending = 0, other = 0, done_not_logged = 0;
  for (const auto& t : *list) {
    if (t.state == opal::TaskState::kDone) {
      ++done;
      done_not_logged += !completed.count(t.id);
    } else if (t.state == opal::TaskState::kPending) {
      ++pending;
    } else {
      ++other;
    }
  }
  const double window_s = static_cast<double>(last_us - first_us) / 1e6;
  std::printf(
      "workers %d, tasks %d: %zu completed in %.1f s = %.0f tasks/s (acquire + trial + complete)\n",
      workers, tasks, completed.size(), window_s, static_cast<double>(completed.size()) / window_s);
  std::printf("acquire  p50 %.2f ms  p99 %.2f ms  (%zu calls that got a task)\n",
              Percentile(acquire_ms, 0.5), Percentile(acquire_ms, 0.99), acquire_ms.size());
  std::printf("complete p50 %.2f ms  p99 %.2f ms\n", Percentile(complete_ms, 0.5),
              Percentile(complete_ms, 0.99));
  std::printf(
      "checks: %d tasks held by two workers, %d completed twice, %lld done in the queue but not in "
      "a worker's log, %lld neither done nor pending, %lld records for %lld done tasks and %lld "
      "released at the stop, %d workers failed\n",
      held_twice, done_twice, static_cast<long long>(done_not_logged),
      static_cast<long long>(other), static_cast<long long>(*records), static_cast<long long>(done),
      static_cast<long long>(released_total), failed_workers);
  const bool ok = held_twice == 0 && done_twice == 0 && done_not_logged == 0 && other == 0 &&
                  done == static_cast<int64_t>(completed.size()) && *records >= done &&
                  *records <= done + released_total &&
                  failed_workers == 0 && done + pending == tasks;
  std::printf("%s\n", ok ? "PASS: no task held twice, none lost" : "FAIL");
  return ok ? 0 : 1;
}
