// Runs one trial in a forked child process so that a candidate that crashes, hangs or corrupts
// memory cannot take the tuner down. The child reports its progress through a pipe:
//
//   build phase  (limit: build_timeout_s)  compiling the candidate
//   wait phase   (no limit)                waiting for the device: for another measurement to end
//                                          (before a build or a run) or for builds to end (before a run)
//   run phase    (limit: run_timeout_s)    verification, warm-up and timed repeats
//
// The child may enter the wait phase before its build and go back to the build phase (whose limit
// then counts from there).
//
// A child killed by a signal becomes kCrash, one past the limit of its phase is killed and becomes
// kTimeout, one that exits without a report kRuntimeError. The parent never runs candidate code.
// Precondition: the calling process has no other threads doing work that the child could inherit
// mid-operation (fork copies only the calling thread).
#pragma once

#include <functional>
#include <string>

#include "opal/tuning_framework.h"
#include "opal/tuning_kernel.h"

namespace opal::tune {

// The child's side: tells the parent which phase it is in.
class TrialChannel {
 public:
  explicit TrialChannel(int fd) : fd_(fd) {}
  void EnterWaitPhase();
  void EnterBuildPhase();
  void EnterRunPhase();

 private:
  friend TrialResult RunSandboxed(const std::function<TrialResult(TrialChannel&)>&, double, double);
  void Send(char tag, const std::string& payload = "");
  int fd_;
};

// Forks, runs `body` in the child and returns what it reported (or why it did not).
TrialResult RunSandboxed(const std::function<TrialResult(TrialChannel&)>& body,
                         double build_timeout_s, double run_timeout_s);

}  // namespace opal::tune
