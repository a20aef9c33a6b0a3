#include "opal/launcher.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "distributed/launch_support.h"
#include "opal/record_store.h"

namespace opal::dist {

volatile sig_atomic_t g_interrupted = 0;

namespace {
void OnInterrupt(int) { g_interrupted = 1; }
}  // namespace

void CatchInterrupts(struct sigaction* old_int, struct sigaction* old_term) {
  struct sigaction sa {};
  sa.sa_handler = OnInterrupt;
  sigaction(SIGINT, &sa, old_int);
  sigaction(SIGTERM, &sa, old_term);
}

Result<JobSummary> Summary(TaskQueue& q, const std::string& job_id) {
  OPAL_ASSIGN_OR_RETURN(auto jobs, q.Jobs());
  for (auto& j : jobs)
    if (j.id == job_id) return j;
  return Error(ErrorCode::kNotFound, "job {} is not in the queue", job_id);
}

bool Unfinished(TaskQueue& q, const std::string& job_id) {
  auto s = Summary(q, job_id);
  return !s.ok() || s->pending + s->running > 0;
}

Result<std::string> Capture(const std::string& cmd) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return Error(ErrorCode::kFailed, "cannot run {}", cmd);
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int rc = pclose(p);
  if (rc != 0) return Error(ErrorCode::kFailed, "`{}` failed: {}", cmd, out);
  return out;
}

double Backoff(double first, int failures) {
  return std::min(60.0, first * static_cast<double>(1 << std::min(std::max(failures, 1) - 1, 10)));
}

Clock::duration Seconds(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

void ProgressPrinter::Show(const JobSummary& s) {
  const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
  const std::string line = ProgressLine(s, elapsed);
  if (isatty(STDERR_FILENO)) {
    std::fprintf(stderr, "\r\033[K%s", line.c_str());
  } else if (line != last_ && Clock::now() - last_print_ > std::chrono::seconds(10)) {
    std::fprintf(stderr, "%s\n", line.c_str());
    last_print_ = Clock::now();
  }
  last_ = line;
}

void ProgressPrinter::Finish() {
  if (isatty(STDERR_FILENO)) std::fprintf(stderr, "\n");
}

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::vector<std::string> WorkerCommand(const LaunchOptions& o, bool with_store) {
  std::vector<std::string> cmd = {o.opal_binary, "worker"};
  if (with_store) cmd.insert(cmd.end(), {"--store", RecordStore::RedactDsn(o.store_dsn)});
  cmd.insert(cmd.end(), {"--exit-when-idle", "--lease", fmt::format("{}", o.lease_s)});
  if (!o.target.empty()) {
    cmd.push_back("--target");
    cmd.push_back(o.target);
  }
  return cmd;
}

std::string ProgressLine(const JobSummary& s, double elapsed_s) {
  std::string eta = "?";
  const int64_t finished = s.done + s.failed;
  if (finished > 0 && finished < s.tasks) {
    const double left =
        elapsed_s / static_cast<double>(finished) * static_cast<double>(s.tasks - finished);
    eta = left > 90 ? fmt::format("{:.0f}m", left / 60) : fmt::format("{:.0f}s", left);
  } else if (finished == s.tasks) {
    eta = "0s";
  }
  return fmt::format("{}: {}/{} done, {} running, {} failed, {} trials, {:.0f}s elapsed, ETA {}",
                     s.id, s.done, s.tasks, s.running, s.failed, s.trials, elapsed_s, eta);
}

Result<JobSummary> Launch(TaskQueue& queue, const std::string& job_id, const LaunchOptions& o) {
  if (o.workers < 1) return Error(ErrorCode::kInvalidArgument, "--workers must be >= 1");
  if (o.launcher == "none") {
    std::string line;
    for (const auto& a : WorkerCommand(o, true)) line += (line.empty() ? "" : " ") + ShellQuote(a);
    std::printf("job %s is queued. On each device, run:\n  %s\n", job_id.c_str(), line.c_str());
    if (RecordStore::RedactDsn(o.store_dsn) != o.store_dsn) {
      std::printf("(the password is not shown: put it in ~/.pgpass, or give the whole DSN in $OPAL_STORE "
                  "and leave --store out)\n");
    }
    return Summary(queue, job_id);
  }
  if (o.launcher == "local") return LaunchLocal(queue, job_id, o);
  if (o.launcher == "slurm") return LaunchSlurm(queue, job_id, o);
  return Error(ErrorCode::kInvalidArgument, "--launcher {}: expected local, slurm or none",
               o.launcher);
}

}  // namespace opal::dist