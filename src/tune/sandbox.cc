#include "tune/sandbox.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "opal/json.h"

namespace opal::tune {
namespace {

using Clock = std::chrono::steady_clock;

// Wire format of the final report: one JSON object.
std::string EncodeResult(const TrialResult& r) {
  Json j;
  j["status"] = std::string(TrialStatusName(r.status));
  j["error"] = r.error;
  j["times_s"] = r.times_s;
  j["build_s"] = r.build_s;
  j["max_abs_error"] = r.max_abs_error;
  return j.dump();
}

TrialResult DecodeResult(const std::string& text) {
  TrialResult r;
  Json j = Json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    r.status = TrialStatus::kRuntimeError;
    r.error = "measuring process sent an unreadable report";
    return r;
  }
  try {  // a field of the wrong type (a NaN time is written as null) is an unreadable report too
    auto st = ParseTrialStatus(j.value("status", ""));
    r.status = st.ok() ? *st : TrialStatus::kRuntimeError;
    r.error = j.value("error", "");
    r.times_s = j.value("times_s", std::vector<double>{});
    r.build_s = j.value("build_s", 0.0);
    r.max_abs_error = j.value("max_abs_error", 0.0);
  } catch (const std::exception& e) {
    r = TrialResult{};
    r.status = TrialStatus::kRuntimeError;
    r.error = std::string("measuring process sent an unreadable report: ") + e.what();
  }
  return r;
}

void WriteAll(int fd, const char* data, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, data, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    data += w;
    n -= static_cast<size_t>(w);
  }
}

}  // namespace

void TrialChannel::Send(char tag, const std::string& payload) {
  std::string msg(1, tag);
  msg += payload;
  msg += '\n';
  WriteAll(fd_, msg.data(), msg.size());
}
void TrialChannel::EnterWaitPhase() { Send('W'); }
void TrialChannel::EnterBuildPhase() { Send('B'); }
void TrialChannel::EnterRunPhase() { Send('R'); }

TrialResult RunSandboxed(const std::function<TrialResult(TrialChannel&)>& body,
                         double build_timeout_s, double run_timeout_s) {
  TrialResult failed;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    failed.status = TrialStatus::kRuntimeError;
    failed.error = fmt::format("cannot create a pipe: {}", std::strerror(errno));
    return failed;
  }
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    failed.status = TrialStatus::kRuntimeError;
    failed.error = fmt::format("cannot fork the measuring process: {}", std::strerror(errno));
    return failed;
  }
  if (pid == 0) {
    close(fds[0]);
    TrialChannel ch(fds[1]);
    TrialResult r;
    try {
      r = body(ch);
    } catch (const std::exception& e) {
      r.status = TrialStatus::kRuntimeError;
      r.error = fmt::format("exception: {}", e.what());
    }
    ch.Send('D', EncodeResult(r));
    _exit(0);
  }
  close(fds[1]);
  enum class Phase { kBuild, kWait, kRun, kDone } phase = Phase::kBuild;
  auto phase_start = Clock::now();
  std::string buffer, report;
  bool timed_out = false, eof = false;
  const char* phase_name = "build";
  while (!eof && phase != Phase::kDone) {
    double limit = phase == Phase::kBuild ? build_timeout_s
                   : phase == Phase::kRun ? run_timeout_s
                                          : -1;
    int wait_ms = 1000;
    if (limit > 0) {
      double left = limit - std::chrono::duration<double>(Clock::now() - phase_start).count();
      if (left <= 0) {
        timed_out = true;
        break;
      }
      wait_ms = static_cast<int>(std::min(left * 1000.0 + 1, 1000.0));
    }
    pollfd p{fds[0], POLLIN, 0};
    int rc = poll(&p, 1, wait_ms);
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) continue;
    char chunk[4096];
    ssize_t n = read(fds[0], chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      eof = true;
      break;
    }
    buffer.append(chunk, static_cast<size_t>(n));
    size_t nl;
    while ((nl = buffer.find('\n')) != std::string::npos) {
      std::string line = buffer.substr(0, nl);
      buffer.erase(0, nl + 1);
      if (line.empty()) continue;
      if (line[0] == 'W') {
        phase = Phase::kWait;
        phase_name = "lock wait";
      } else if (line[0] == 'B') {
        phase = Phase::kBuild;
        phase_name = "build";
        phase_start = Clock::now();
      } else if (line[0] == 'R') {
        phase = Phase::kRun;
        phase_name = "run";
        phase_start = Clock::now();
      } else if (line[0] == 'D') {
        report = line.substr(1);
        phase = Phase::kDone;
      }
    }
  }
  if (timed_out) kill(pid, SIGKILL);
  close(fds[0]);
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    failed.status = TrialStatus::kTimeout;
    failed.error = fmt::format("{} phase exceeded its limit of {:.0f} s", phase_name,
                               phase == Phase::kBuild ? build_timeout_s : run_timeout_s);
    return failed;
  }
  if (phase == Phase::kDone) return DecodeResult(report);
  if (WIFSIGNALED(wstatus)) {
    failed.status = TrialStatus::kCrash;
    failed.error = fmt::format("measuring process killed by signal {} ({}) in the {} phase",
                               WTERMSIG(wstatus), strsignal(WTERMSIG(wstatus)), phase_name);
  } else {
    failed.status = TrialStatus::kRuntimeError;
    failed.error =
        fmt::format("measuring process exited with code {} in the {} phase without a report",
                    WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1, phase_name);
  }
  return failed;
}

namespace {

// Opens `path` (created when missing) and takes `op` (LOCK_EX or LOCK_SH) on it, waiting; -1 when
// the file cannot be opened or locked.
int OpenLocked(const std::string& path, int op) {
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0) return -1;
  while (flock(fd, op) != 0) {
    if (errno != EINTR) {
      close(fd);
      return -1;
    }
  }
  return fd;
}

}  // namespace

std::string BuildSlotPath(const std::string& device_lock_path) { return device_lock_path + ".builds"; }

DeviceLock::DeviceLock(const std::string& path) {
  fd_ = OpenLocked(path, LOCK_EX);
  if (fd_ < 0) return;
  // Then wait for the builds in progress: new ones wait for the device lock we hold (BuildSlot).
  builds_fd_ = OpenLocked(BuildSlotPath(path), LOCK_EX);
  if (builds_fd_ < 0) {
    close(fd_);
    fd_ = -1;
  }
}

DeviceLock::~DeviceLock() {
  if (builds_fd_ >= 0) close(builds_fd_);  // closing releases the flock
  if (fd_ >= 0) close(fd_);
}

BuildSlot::BuildSlot(const std::string& device_lock_path) {
  // Queue behind a measurement that holds or awaits the device, then share the slot with other
  // builds; the device lock is released at once.
  const int device = OpenLocked(device_lock_path, LOCK_EX);
  if (device < 0) return;
  fd_ = OpenLocked(BuildSlotPath(device_lock_path), LOCK_SH);
  close(device);
}

BuildSlot::~BuildSlot() {
  if (fd_ >= 0) close(fd_);
}

std::string DeviceLockPath(const MeasureOptions& options, const Target& target) {
  if (!options.lock_path.empty()) return options.lock_path;
  if (const char* env = std::getenv("OPAL_DEVICE_LOCK"); env && *env) return env;
  return "/tmp/opal-device-" + target.CoarseKey() + ".lock";
}

}  // namespace opal::tune
