// Progress of long work (tuning, building, planning) as a person or a program follows it.
//
// One Progress per piece of work: Update() as units get done, Finish() at the end. Where it goes:
//   bar    a terminal on stderr: one line redrawn in place, "[####----] 12/40  tuning ...  ETA 1:05"
//   lines  stderr is not a terminal (a CI log, a Slurm job): a line every `line_every_s` seconds
//          and at the end, so a log shows progress without one line per unit
//   json   one JSON object per line on stderr ({"event":"progress",...}), for programs (`--json`)
//   quiet  nothing
// kAuto picks bar on a terminal, lines otherwise. Every event also goes to the process-wide
// listener when one is set (the Python package uses it); the listener runs on the caller's thread.
//
// Thread safety: one Progress is used by one thread; SetProgressListener is not to be called
// while work is in progress.
#pragma once

#include <chrono>
#include <cstdio>
#include <functional>
#include <string>

#include "opal/json.h"

namespace opal {

enum class ProgressStyle { kAuto, kBar, kLines, kJson, kQuiet };

struct ProgressEvent {
  std::string task;    // what is being done: "tune", "build", "plan"
  double done = 0;     // units done (trials, kernels, ...)
  double total = 0;    // units planned; 0 when unknown
  std::string unit;    // "trials", "kernels", ...
  double elapsed_s = 0;
  double eta_s = -1;   // -1 when unknown
  std::string detail;  // the current item, e.g. a workload
  bool finished = false;

  // {"event":"progress"|"done","task":...,"done":...,"total":...,"unit":...,"elapsed_s":...,
  //  "eta_s":...,"detail":...}
  Json ToJson() const;
};

class Progress {
 public:
  // `out` is where bar, lines and json go (stderr by default).
  Progress(std::string task, double total, std::string unit, ProgressStyle style = ProgressStyle::kAuto,
           std::FILE* out = stderr);
  ~Progress();  // ends a bar's line when Finish was not called
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Sets the units done so far (not an increment) and the current item. Rate-limited output.
  void Update(double done, const std::string& detail = "");
  // Changes the planned total (a budget recomputed mid-way).
  void SetTotal(double total) { total_ = total; }
  // The last event: its summary line replaces the bar.
  void Finish(const std::string& summary = "");

  double line_every_s = 10;     // lines: at most one line per this many seconds
  double redraw_every_s = 0.1;  // bar: at most this often
  double json_every_s = 1;      // json: at most one progress event per this many seconds

 private:
  ProgressEvent Event(bool finished) const;
  void Emit(const ProgressEvent& e, bool force);

  std::string task_, unit_, detail_;
  double total_ = 0, done_ = 0;
  ProgressStyle style_;
  std::FILE* out_;
  std::chrono::steady_clock::time_point start_, last_emit_;
  bool emitted_ = false, finished_ = false, bar_open_ = false;
};

// Called with every event of every Progress in the process (nullptr: none).
void SetProgressListener(std::function<void(const ProgressEvent&)> listener);

// "1:05", "1:02:03".
std::string FormatClock(double seconds);

// The style named by a command's flags: --json -> kJson, -q -> kQuiet, else kAuto.
ProgressStyle ProgressStyleFor(bool json, bool quiet);

}  // namespace opal
