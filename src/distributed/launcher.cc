#include "opal/launcher.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include <fmt/format.h>

#include "opal/log.h"

namespace opal::dist {
namespace {

using Clock = std::chrono::steady_clock;

volatile sig_atomic_t g_interrupted = 0;
void OnInterrupt(int) { g_interrupted = 1; }

Result<JobSummary> Summary(TaskQueue& q, const std::string& job_id) {
  OPAL_ASSIGN_OR_RETURN(auto jobs, q.Jobs());
  for (auto& j : jobs)
    if (j.id == job_id) return j;
  return Error(ErrorCode::kNotFound, "job {} is not in the queue", job_id);
}

// Runs a command, returns its stdout; kFailed with stderr on a non-zero exit.
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

class ProgressPrinter {
 public:
  void Show(const JobSummary& s) {
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
  void Finish() {
    if (isatty(STDERR_FILENO)) std::fprintf(stderr, "\n");
  }

 private:
  Clock::time_point start_ = Clock::now();
  Clock::time_point last_print_{};
  std::string last_;
};

Result<JobSummary> LaunchLocal(TaskQueue& q, const std::string& job_id, const LaunchOptions& o) {
  std::vector<std::string> cmd = WorkerCommand(o);
  std::vector<pid_t> kids;
  for (int i = 0; i < o.workers; ++i) {
    pid_t pid = fork();
    if (pid < 0) return Error(ErrorCode::kFailed, "fork failed starting worker {}", i);
    if (pid == 0) {
      std::vector<std::string> args = cmd;
      args.push_back("--worker-id");
      args.push_back(fmt::format("local-{}-{}", getppid(), i));
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      std::fprintf(stderr, "opal: cannot start worker %s\n", argv[0]);
      _exit(127);
    }
    kids.push_back(pid);
  }
  struct sigaction sa {}, old_int {}, old_term {};
  sa.sa_handler = OnInterrupt;
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  ProgressPrinter progress;
  size_t alive = kids.size();
  bool forwarded = false;
  std::vector<int> codes;
  while (alive > 0) {
    if (g_interrupted && !forwarded) {
      // Workers finish the trial in flight and give their task back.
      for (pid_t k : kids) kill(k, SIGTERM);
      forwarded = true;
    }
    int status = 0;
    pid_t done = waitpid(-1, &status, WNOHANG);
    if (done > 0) {
      --alive;
      codes.push_back(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
      continue;
    }
    if (auto s = Summary(q, job_id); s.ok()) progress.Show(*s);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  progress.Finish();
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  OPAL_ASSIGN_OR_RETURN(JobSummary s, Summary(q, job_id));
  if (forwarded) return Error(ErrorCode::kCancelled, "interrupted; resume with the same command ({})", job_id);
  int bad = 0;
  for (int c : codes) bad += c != 0;
  if (bad) log::Warn("{} of {} workers exited with an error (see their messages above)", bad, codes.size());
  return s;
}

Result<JobSummary> LaunchSlurm(TaskQueue& q, const std::string& job_id, const LaunchOptions& o) {
  std::string worker;
  for (const auto& a : WorkerCommand(o)) worker += (worker.empty() ? "" : " ") + ShellQuote(a);
  worker += " --worker-id slurm-$SLURM_ARRAY_JOB_ID-$SLURM_ARRAY_TASK_ID";
  std::string cmd = fmt::format("sbatch --parsable --job-name=opal-{} --array=0-{}", job_id.substr(4, 8),
                                o.workers - 1);
  if (!o.partition.empty()) cmd += " --partition=" + ShellQuote(o.partition);
  if (o.nodes > 0) cmd += fmt::format(" --nodes={}", o.nodes);
  if (!o.time_limit.empty()) cmd += " --time=" + ShellQuote(o.time_limit);
  const std::string logs = o.log_dir.empty() ? "." : o.log_dir;
  cmd += " --output=" + ShellQuote(logs + "/opal-worker-%A_%a.out");
  for (const auto& a : o.sbatch_args) cmd += " " + ShellQuote(a);
  cmd += " --wrap=" + ShellQuote("exec " + worker);
  OPAL_ASSIGN_OR_RETURN(std::string out, Capture(cmd));
  const std::string slurm_id = out.substr(0, out.find_first_of(";\n"));
  if (slurm_id.empty() || slurm_id.find_first_not_of("0123456789") != std::string::npos) {
    return Error(ErrorCode::kFailed, "sbatch did not return a job id: {}", out);
  }
  std::fprintf(stderr, "opal: submitted Slurm array job %s (%d workers); logs in %s\n", slurm_id.c_str(),
               o.workers, logs.c_str());
  if (!o.follow) return Summary(q, job_id);
  ProgressPrinter progress;
  while (true) {
    OPAL_ASSIGN_OR_RETURN(JobSummary s, Summary(q, job_id));
    progress.Show(s);
    auto queued = Capture("squeue -h -j " + slurm_id + " -o %i");
    const bool slurm_done = queued.ok() && queued->find_first_not_of(" \n") == std::string::npos;
    if (slurm_done || (s.pending == 0 && s.running == 0)) {
      progress.Finish();
      if (s.pending + s.running > 0) log::Warn("the Slurm workers ended with tasks left; run the command again to resume");
      return s;
    }
    if (g_interrupted) {
      (void)Capture("scancel --signal=TERM " + slurm_id);
      return Error(ErrorCode::kCancelled, "interrupted; Slurm job {} was told to stop", slurm_id);
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

}  // namespace

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::vector<std::string> WorkerCommand(const LaunchOptions& o) {
  std::vector<std::string> cmd = {o.opal_binary, "worker", "--store", o.store_dsn, "--exit-when-idle",
                                  "--lease", fmt::format("{}", o.lease_s)};
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
    const double left = elapsed_s / static_cast<double>(finished) * static_cast<double>(s.tasks - finished);
    eta = left > 90 ? fmt::format("{:.0f}m", left / 60) : fmt::format("{:.0f}s", left);
  } else if (finished == s.tasks) {
    eta = "0s";
  }
  return fmt::format("{}: {}/{} done, {} running, {} failed, {} trials, {:.0f}s elapsed, ETA {}", s.id, s.done,
                     s.tasks, s.running, s.failed, s.trials, elapsed_s, eta);
}

Result<JobSummary> Launch(TaskQueue& queue, const std::string& job_id, const LaunchOptions& o) {
  if (o.workers < 1) return Error(ErrorCode::kInvalidArgument, "--workers must be >= 1");
  if (o.launcher == "none") {
    std::string line;
    for (const auto& a : WorkerCommand(o)) line += (line.empty() ? "" : " ") + ShellQuote(a);
    std::printf("job %s is queued. On each device, run:\n  %s\n", job_id.c_str(), line.c_str());
    return Summary(queue, job_id);
  }
  if (o.launcher == "local") return LaunchLocal(queue, job_id, o);
  if (o.launcher == "slurm") return LaunchSlurm(queue, job_id, o);
  return Error(ErrorCode::kInvalidArgument, "--launcher {}: expected local, slurm or none", o.launcher);
}

}  // namespace opal::dist
