// What the local and Slurm launchers share (launcher.cc): the interrupt flag, the job's summary,
// running a command, the progress line on stderr and the restart back-off.
#pragma once

#include <signal.h>

#include <chrono>
#include <string>

#include "opal/launcher.h"

namespace opal::dist {

using Clock = std::chrono::steady_clock;

// Set by SIGINT/SIGTERM once CatchInterrupts ran; the launchers forward it to their workers.
extern volatile sig_atomic_t g_interrupted;
// Installs the handler for SIGINT and SIGTERM; the previous handlers go to old_int/old_term when
// given (to restore them).
void CatchInterrupts(struct sigaction* old_int = nullptr, struct sigaction* old_term = nullptr);

Result<JobSummary> Summary(TaskQueue& q, const std::string& job_id);
// True when the job has pending or running tasks, or when the queue cannot tell (database away).
bool Unfinished(TaskQueue& q, const std::string& job_id);
// Runs a shell command and returns its output; kFailed with the output on a non-zero exit.
Result<std::string> Capture(const std::string& cmd);
// Seconds before the `failures`-th restart in a row: `first`, doubled each time, at most 60.
double Backoff(double first, int failures);
Clock::duration Seconds(double s);

// The progress line on stderr: rewritten in place on a terminal, every 10 s in a log.
class ProgressPrinter {
 public:
  void Show(const JobSummary& s);
  void Finish();

 private:
  Clock::time_point start_ = Clock::now();
  Clock::time_point last_print_{};
  std::string last_;
};

Result<JobSummary> LaunchLocal(TaskQueue& q, const std::string& job_id, const LaunchOptions& o);
Result<JobSummary> LaunchSlurm(TaskQueue& q, const std::string& job_id, const LaunchOptions& o);

}  // namespace opal::dist
