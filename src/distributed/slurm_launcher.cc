// The Slurm launcher: an sbatch array of workers, followed with squeue; array elements that are
// lost while the job has work left are submitted again (see opal/launcher.h).
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <cstdio>
#include <thread>

#include "distributed/launch_support.h"
#include "opal/log.h"

namespace opal::dist {
namespace {

int LiveArrayElements(const std::vector<std::string>& slurm_ids) {
  std::string ids;
  for (const auto& id : slurm_ids) ids += (ids.empty() ? "" : ",") + id;
  auto queued = Capture("squeue -h -r -j " + ids + " -o %i");
  if (!queued.ok()) return -1;
  int n = 0;
  for (size_t pos = 0; pos < queued->size();) {
    const size_t nl = queued->find('\n', pos);
    const std::string line =
        queued->substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    n += line.find_first_not_of(' ') != std::string::npos;
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  return n;
}

Result<std::string> SubmitArray(const LaunchOptions& o, const std::string& job_id, int elements) {
  std::string worker;
  // The DSN reaches the workers through the environment sbatch exports (not the job's command,
  // which Slurm records and shows).
  setenv("OPAL_STORE", o.store_dsn.c_str(), 1);
  for (const auto& a : WorkerCommand(o, /*with_store=*/false)) worker += (worker.empty() ? "" : " ") + ShellQuote(a);
  worker += " --worker-id slurm-$SLURM_ARRAY_JOB_ID-$SLURM_ARRAY_TASK_ID";
  std::string cmd = fmt::format("sbatch --parsable --job-name=opal-{} --array=0-{}",
                                job_id.substr(4, 8), elements - 1);
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
  std::fprintf(stderr, "opal: submitted Slurm array job %s (%d workers); logs in %s\n",
               slurm_id.c_str(), elements, logs.c_str());
  return slurm_id;
}

}  // namespace

// Follows the arrays; while the job has work left and fewer than o.workers elements are alive,
// submits the missing ones again (after a back-off), up to max_restarts x workers in all.
Result<JobSummary> LaunchSlurm(TaskQueue& q, const std::string& job_id, const LaunchOptions& o) {
  std::vector<std::string> arrays;
  OPAL_ASSIGN_OR_RETURN(std::string first, SubmitArray(o, job_id, o.workers));
  arrays.push_back(first);
  if (!o.follow) return Summary(q, job_id);
  CatchInterrupts();
  ProgressPrinter progress;
  int resubmitted = 0, rounds = 0;
  Clock::time_point next_submit{};
  while (true) {
    OPAL_ASSIGN_OR_RETURN(JobSummary s, Summary(q, job_id));
    progress.Show(s);
    const int64_t left = s.pending + s.running;
    const int live = LiveArrayElements(arrays);
    if (left == 0 || live == 0) {
      if (left == 0 || resubmitted >= o.max_restarts * o.workers) {
        progress.Finish();
        return s;
      }
    }
    if (g_interrupted) {
      for (const auto& id : arrays) (void)Capture("scancel --signal=TERM " + id);
      return Error(ErrorCode::kCancelled, "interrupted; Slurm jobs were told to stop");
    }
    const int budget = o.max_restarts * o.workers - resubmitted;
    if (live >= 0 && live < o.workers && left > 0 && budget > 0 && Clock::now() >= next_submit) {
      const int n = static_cast<int>(std::min<int64_t>({o.workers - live, left, budget}));
      log::Warn("{} of {} Slurm workers are gone with {} tasks left; submitting {} again",
                o.workers - live, o.workers, left, n);
      OPAL_ASSIGN_OR_RETURN(std::string id, SubmitArray(o, job_id, n));
      arrays.push_back(id);
      resubmitted += n;
      next_submit = Clock::now() + Seconds(Backoff(o.restart_backoff_s, ++rounds));
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

}  // namespace opal::dist
