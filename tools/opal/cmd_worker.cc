// opal worker --store DSN [--target STR] [--exit-when-idle] [--max-tasks N] [--lease S] [--worker-id ID]
// opal status [JOB] [--store DSN] [--json]
#include <fmt/format.h>
#include <signal.h>

#include <atomic>
#include <ctime>

#include "commands.h"
#include "opal/launcher.h"
#include "opal/worker.h"
#include "opal/record.h"
#include "opal/record_store.h"
#include "opal/task_queue.h"

namespace opal::cli {
namespace {

std::atomic<bool> g_stop{false};
void OnStop(int) { g_stop = true; }

struct WorkerFlags {
  std::string store;
  std::string target;
  bool exit_when_idle = false;
  int max_tasks = 0;
  double lease_s = 60;
  std::string worker_id;
};

Status RunWorkerCommand(const WorkerFlags& f) {
  dist::WorkerOptions o;
  o.store_dsn = StoreDsn(f.store);
  OPAL_ASSIGN_OR_RETURN(o.target, ResolveTarget(f.target));
  o.exit_when_idle = f.exit_when_idle;
  o.max_tasks = f.max_tasks;
  o.lease_s = f.lease_s;
  o.worker_id = f.worker_id;
  o.stop = &g_stop;
  struct sigaction sa {};
  sa.sa_handler = OnStop;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  OPAL_ASSIGN_OR_RETURN(dist::WorkerStats s, dist::RunWorker(o));
  fmt::print("worker: {} tasks done, {} failed, {} trials ({})\n", s.tasks_done, s.tasks_failed, s.trials,
             s.stop_reason);
  return Status::Ok();
}

struct StatusFlags {
  std::string store;
  std::string job;
  bool json = false;
};

std::string Ago(int64_t us) {
  if (us == 0) return "-";
  const double s = static_cast<double>(NowMicros() - us) / 1e6;
  return s < 120 ? fmt::format("{:.0f}s ago", s) : fmt::format("{:.0f}m ago", s / 60);
}

Status RunStatusCommand(const StatusFlags& f) {
  OPAL_ASSIGN_OR_RETURN(auto q, TaskQueue::Open(StoreDsn(f.store)));
  OPAL_ASSIGN_OR_RETURN(auto jobs, q->Jobs());
  OPAL_ASSIGN_OR_RETURN(auto workers, q->Workers());
  Json out = {{"format", "opal.status/1"}, {"jobs", Json::array()}, {"workers", Json::array()}};
  bool found = f.job.empty();
  for (const auto& j : jobs) {
    if (!f.job.empty() && j.id != f.job && j.name != f.job) continue;
    found = true;
    Json jj = {{"id", j.id}, {"name", j.name}, {"target", j.spec.target_key}, {"tasks", j.tasks},
               {"pending", j.pending}, {"running", j.running}, {"done", j.done}, {"failed", j.failed},
               {"trials", j.trials}};
    if (!f.job.empty()) {
      OPAL_ASSIGN_OR_RETURN(auto tasks, q->Tasks(j.id));
      jj["task_list"] = Json::array();
      for (const auto& t : tasks)
        jj["task_list"].push_back({{"id", t.id}, {"workload_key", t.workload_key},
                                   {"state", std::string(TaskStateName(t.state))}, {"attempts", t.attempts},
                                   {"lost", t.lost},
                                   {"trials", t.trials}, {"best_s", t.best_s}, {"lease_owner", t.lease_owner},
                                   {"last_error", t.last_error}});
    }
    out["jobs"].push_back(jj);
  }
  if (!found) return Error(ErrorCode::kNotFound, "no job '{}' in the queue (see `opal status`)", f.job);
  for (const auto& w : workers)
    out["workers"].push_back({{"id", w.id}, {"host", w.host}, {"target", w.target_key}, {"state", w.state},
                              {"last_seen_us", w.last_seen_us}, {"tasks_done", w.tasks_done}});
  if (f.json) {
    fmt::print("{}\n", out.dump(2));
    return Status::Ok();
  }
  if (out["jobs"].empty()) fmt::print("no jobs in the queue\n");
  for (const auto& j : out["jobs"]) {
    fmt::print("{}  {}  on {}: {}/{} done, {} running, {} pending, {} failed, {} trials\n",
               j["id"].get<std::string>(), j["name"].get<std::string>(), j["target"].get<std::string>(),
               j["done"].get<int64_t>(), j["tasks"].get<int64_t>(), j["running"].get<int64_t>(),
               j["pending"].get<int64_t>(), j["failed"].get<int64_t>(), j["trials"].get<int64_t>());
    if (!j.contains("task_list")) continue;
    fmt::print("\n{:>5}  {:<29} {:<8} {:>8} {:>4} {:>6} {:>10}  {}\n", "task", "workload", "state", "attempts",
               "lost", "trials", "best ms", "worker / last error");
    for (const auto& t : j["task_list"]) {
      const double best = t["best_s"].get<double>();
      std::string who = t["lease_owner"].get<std::string>();
      if (!t["last_error"].get<std::string>().empty()) who += (who.empty() ? "" : " / ") + t["last_error"].get<std::string>();
      fmt::print("{:>5}  {:<29} {:<8} {:>8} {:>4} {:>6} {:>10}  {}\n", t["id"].get<int64_t>(),
                 t["workload_key"].get<std::string>(), t["state"].get<std::string>(), t["attempts"].get<int>(),
                 t["lost"].get<int>(), t["trials"].get<int64_t>(), best > 0 ? fmt::format("{:.4f}", best * 1e3) : "-",
                 who);
    }
    fmt::print("\n");
  }
  if (!workers.empty()) {
    fmt::print("workers seen:\n");
    for (const auto& w : workers)
      fmt::print("  {:<32} {:<9} {:>4} tasks done, last seen {}\n", w.id, w.state, w.tasks_done, Ago(w.last_seen_us));
  }
  return Status::Ok();
}

}  // namespace

void AddWorkerCommand(CLI::App& app, CommandFn* run) {
  auto f = std::make_shared<WorkerFlags>();
  CLI::App* w = app.add_subcommand("worker", "Pull tuning tasks from the queue in a store and tune them here");
  w->add_option("--store", f->store, "Store DSN holding the queue (default $OPAL_STORE or the user's SQLite store)");
  w->add_option("--target", f->target, "Target this worker measures for (default: this host)");
  w->add_flag("--exit-when-idle", f->exit_when_idle,
              "Exit when nothing is left for this worker (no pending task, none running that could come back)");
  w->add_option("--max-tasks", f->max_tasks, "Exit after this many tasks (0 = no limit)");
  w->add_option("--lease", f->lease_s, "Lease length in seconds, renewed every third of it (default 60)")
      ->check(CLI::PositiveNumber);
  w->add_option("--worker-id", f->worker_id, "Name shown in `opal status` (default HOST-PID)");
  w->callback([f, run] { *run = [f] { return RunWorkerCommand(*f); }; });

  auto s = std::make_shared<StatusFlags>();
  CLI::App* st = app.add_subcommand("status", "Progress of tuning jobs in the queue: per task and per worker");
  st->add_option("job", s->job, "Job id or name: show its tasks");
  st->add_option("--store", s->store, "Store DSN (default $OPAL_STORE or the user's SQLite store)");
  st->add_flag("--json", s->json, "Machine-readable output (format opal.status/1)");
  st->callback([s, run] { *run = [s] { return RunStatusCommand(*s); }; });
}

}  // namespace opal::cli
