// The local launcher: N worker processes on this machine, each started again after a back-off
// when it dies while the job has work left (see opal/launcher.h).
#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string_view>
#include <thread>

#include "distributed/launch_support.h"
#include "opal/log.h"

namespace opal::dist {
namespace {

std::string ExitDescription(int status) {
  return WIFEXITED(status) ? fmt::format("exit code {}", WEXITSTATUS(status))
                           : fmt::format("signal {}", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

// One local worker process: started, watched, restarted after a back-off when it dies while the
// job has work left; retired after max_restarts quick deaths in a row.
struct Slot {
  int index = 0;
  int generation = 0;
  pid_t pid = -1;
  int failures = 0;  // quick deaths in a row; a worker that ran for 10 s resets it
  Clock::time_point started{}, next_start{};
  bool retired = false;
};

Status StartWorker(const LaunchOptions& o, Slot& slot) {
  std::vector<std::string> args = WorkerCommand(o, /*with_store=*/false);
  args.push_back("--worker-id");
  args.push_back(slot.generation == 0
                     ? fmt::format("local-{}-{}", getpid(), slot.index)
                     : fmt::format("local-{}-{}r{}", getpid(), slot.index, slot.generation));
  // The environment with the DSN in $OPAL_STORE (not on the command line: it may hold a
  // password), built before fork so the child only has to exec.
  std::vector<std::string> env = {"OPAL_STORE=" + o.store_dsn};
  for (char** e = environ; *e; ++e)
    if (std::string_view(*e).rfind("OPAL_STORE=", 0) != 0) env.emplace_back(*e);
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) return Error(ErrorCode::kFailed, "fork failed starting worker {}", slot.index);
  if (pid == 0) {
    execve(argv[0], argv.data(), envp.data());
    std::fprintf(stderr, "opal: cannot start worker %s\n", argv[0]);
    _exit(127);
  }
  slot.pid = pid;
  slot.started = Clock::now();
  ++slot.generation;
  return Status::Ok();
}

}  // namespace

Result<JobSummary> LaunchLocal(TaskQueue& q, const std::string& job_id, const LaunchOptions& o) {
  std::vector<Slot> slots(static_cast<size_t>(o.workers));
  for (size_t i = 0; i < slots.size(); ++i) {
    slots[i].index = static_cast<int>(i);
    OPAL_RETURN_IF_ERROR(StartWorker(o, slots[i]));
  }
  struct sigaction old_int {}, old_term {};
  CatchInterrupts(&old_int, &old_term);
  ProgressPrinter progress;
  bool forwarded = false;
  int restarts = 0, gave_up = 0;
  while (true) {
    if (g_interrupted && !forwarded) {
      // Workers finish the trial in flight and give their task back; nobody is restarted.
      for (const Slot& s : slots)
        if (s.pid > 0) kill(s.pid, SIGTERM);
      forwarded = true;
    }
    int status = 0;
    for (pid_t done; (done = waitpid(-1, &status, WNOHANG)) > 0;) {
      auto slot =
          std::find_if(slots.begin(), slots.end(), [&](const Slot& s) { return s.pid == done; });
      if (slot == slots.end()) continue;
      slot->pid = -1;
      const bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
      if (forwarded || clean) {
        // A clean exit means the worker found nothing left; start another only if work came back.
        slot->retired = forwarded || !Unfinished(q, job_id);
        slot->next_start = Clock::now() + Seconds(o.restart_backoff_s);
        continue;
      }
      if (Clock::now() - slot->started > std::chrono::seconds(10)) slot->failures = 0;
      if (++slot->failures > o.max_restarts) {
        log::Warn("worker slot {} died {} times in a row ({}); not restarting it", slot->index,
                  slot->failures, ExitDescription(status));
        slot->retired = true;
        ++gave_up;
        continue;
      }
      const double wait = Backoff(o.restart_backoff_s, slot->failures);
      log::Warn(
          "worker slot {} died ({}); starting a new worker in {:.0f} s (restart {} of at most {} "
          "in a row)",
          slot->index, ExitDescription(status), wait, slot->failures, o.max_restarts);
      slot->next_start = Clock::now() + Seconds(wait);
    }
    bool active = false;
    for (Slot& s : slots) {
      if (s.retired || s.pid > 0) {
        active |= s.pid > 0;
        continue;
      }
      if (forwarded || !Unfinished(q, job_id)) {
        s.retired = true;
        continue;
      }
      active = true;
      if (Clock::now() < s.next_start) continue;
      OPAL_RETURN_IF_ERROR(StartWorker(o, s));
      ++restarts;
    }
    if (!active) break;
    if (auto s = Summary(q, job_id); s.ok()) progress.Show(*s);
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  progress.Finish();
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  if (forwarded)
    return Error(ErrorCode::kCancelled, "interrupted; resume with the same command ({})", job_id);
  if (restarts) log::Info("{} workers were started again after dying", restarts);
  if (gave_up)
    log::Warn("{} of {} worker slots were given up after dying repeatedly", gave_up, slots.size());
  return Summary(q, job_id);
}

// The ids of our array elements Slurm still knows (pending or running), one per element; -1
}  // namespace opal::dist
