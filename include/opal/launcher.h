// Launching workers for a job already in the queue, and following its progress.
//   local   N `opal worker` processes on this machine (builds overlap, measurements take turns
//           through the device lock); they exit when nothing is left for them. A worker that dies
//           (a signal or a non-zero exit) while the job has work left is started again after a
//           back-off (restart_backoff_s, doubled each time, at most 60 s); a slot whose workers
//           die max_restarts times in a row (each living less than 10 s) is given up.
//   slurm   an `sbatch --array=0-(N-1)` of workers (partition, nodes, time limit), followed with
//           squeue; while the job has work left and fewer than N elements are alive (killed,
//           preempted, failed), the missing ones are submitted again after the same back-off, up
//           to max_restarts x N elements in all
//   none    nothing is started: the worker command to run on remote devices is printed
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "opal/status.h"
#include "opal/task_queue.h"

namespace opal::dist {

struct LaunchOptions {
  std::string launcher = "local";  // local | slurm | none
  int workers = 1;
  std::string store_dsn;
  std::string opal_binary;  // path of the opal executable the workers run
  std::string target;       // --target given to workers ("" = their host)
  double lease_s = 60;
  int max_restarts = 5;          // see above
  double restart_backoff_s = 1;  // first back-off before a restart
  // slurm
  std::string partition;
  int nodes = 0;                         // 0 = let Slurm choose
  std::string time_limit;                // e.g. "02:00:00"
  std::string log_dir;                   // worker logs (slurm-%A_%a.out); "" = current directory
  std::vector<std::string> sbatch_args;  // passed through
  bool follow = true;                    // wait for the job and show progress
};

// The command line of one worker for this job (what `--launcher none` prints), with `--store`
// and the DSN redacted (RecordStore::RedactDsn) when with_store. The local and Slurm launchers
// hand the real DSN to their workers in $OPAL_STORE instead: a password never appears in a
// process list, a Slurm job record or a log.
std::vector<std::string> WorkerCommand(const LaunchOptions& o, bool with_store);

// Starts the workers and, with follow, waits until the job has no pending or running task, or
// until no worker is left (all given up), showing progress on stderr. Returns the job's summary
// then: pending + running > 0 means the workers gave up with work left (rerun to resume).
// kCancelled when interrupted (SIGINT/SIGTERM are forwarded to the workers).
Result<JobSummary> Launch(TaskQueue& queue, const std::string& job_id, const LaunchOptions& o);

// One progress line: "job-…: 3/10 done, 2 running, 0 failed, 45 trials, ETA 2m".
std::string ProgressLine(const JobSummary& s, double elapsed_s);

// Shell-quotes one argument.
std::string ShellQuote(const std::string& s);

}  // namespace opal::dist
