#include "opal/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <mutex>

namespace opal {
namespace {

using Clock = std::chrono::steady_clock;

std::mutex g_listener_mu;
std::function<void(const ProgressEvent&)> g_listener;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::string Bar(double done, double total, int width) {
  const int filled = total > 0 ? static_cast<int>(std::clamp(done / total, 0.0, 1.0) * width + 0.5) : 0;
  return "[" + std::string(static_cast<size_t>(filled), '#') + std::string(static_cast<size_t>(width - filled), '-') + "]";
}

std::string Count(double v) {
  return std::fabs(v - std::round(v)) < 1e-9 ? fmt::format("{:.0f}", v) : fmt::format("{:.1f}", v);
}

}  // namespace

Json ProgressEvent::ToJson() const {
  return Json{{"event", finished ? "done" : "progress"},
              {"task", task},
              {"done", done},
              {"total", total},
              {"unit", unit},
              {"elapsed_s", std::round(elapsed_s * 1000) / 1000},
              {"eta_s", eta_s < 0 ? Json(nullptr) : Json(std::round(eta_s * 10) / 10)},
              {"detail", detail}};
}

std::string FormatClock(double seconds) {
  const int t = static_cast<int>(std::max(0.0, seconds) + 0.5);
  return t >= 3600 ? fmt::format("{}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60)
                   : fmt::format("{}:{:02}", t / 60, t % 60);
}

ProgressStyle ProgressStyleFor(bool json, bool quiet) {
  return json ? ProgressStyle::kJson : quiet ? ProgressStyle::kQuiet : ProgressStyle::kAuto;
}

void SetProgressListener(std::function<void(const ProgressEvent&)> listener) {
  std::lock_guard<std::mutex> lock(g_listener_mu);
  g_listener = std::move(listener);
}

Progress::Progress(std::string task, double total, std::string unit, ProgressStyle style, std::FILE* out)
    : task_(std::move(task)), unit_(std::move(unit)), total_(total), style_(style), out_(out) {
  if (style_ == ProgressStyle::kAuto) style_ = isatty(fileno(out_)) ? ProgressStyle::kBar : ProgressStyle::kLines;
  start_ = last_emit_ = Clock::now();
}

Progress::~Progress() {
  if (bar_open_) {
    std::fputc('\n', out_);
    std::fflush(out_);
  }
}

ProgressEvent Progress::Event(bool finished) const {
  ProgressEvent e;
  e.task = task_;
  e.done = done_;
  e.total = total_;
  e.unit = unit_;
  e.detail = detail_;
  e.finished = finished;
  e.elapsed_s = Seconds(Clock::now() - start_);
  if (finished) {
    e.eta_s = 0;
  } else if (done_ > 0 && total_ > 0) {
    e.eta_s = e.elapsed_s / done_ * std::max(0.0, total_ - done_);
  }
  return e;
}

void Progress::Update(double done, const std::string& detail) {
  done_ = done;
  if (!detail.empty()) detail_ = detail;
  Emit(Event(false), false);
}

void Progress::Finish(const std::string& summary) {
  if (finished_) return;
  finished_ = true;
  if (!summary.empty()) detail_ = summary;
  Emit(Event(true), true);
}

void Progress::Emit(const ProgressEvent& e, bool force) {
  {
    std::lock_guard<std::mutex> lock(g_listener_mu);
    if (g_listener) g_listener(e);
  }
  const auto now = Clock::now();
  const double since = Seconds(now - last_emit_);
  const std::string eta = e.eta_s >= 0 && !e.finished ? "  ETA " + FormatClock(e.eta_s) : "";
  const std::string count = e.total > 0 ? Count(e.done) + "/" + Count(e.total) : Count(e.done);
  switch (style_) {
    case ProgressStyle::kQuiet:
      return;
    case ProgressStyle::kJson:
      if (!force && emitted_ && since < json_every_s) return;
      fmt::print(out_, "{}\n", e.ToJson().dump());
      break;
    case ProgressStyle::kBar: {
      if (!force && emitted_ && since < redraw_every_s) return;
      std::string line = fmt::format("{} {} {} {}  {}  elapsed {}{}", Bar(e.done, e.total, 24), count, e.unit,
                                     e.task, e.detail, FormatClock(e.elapsed_s), eta);
      if (line.size() > 160) line = line.substr(0, 157) + "...";
      fmt::print(out_, "\r\033[K{}", line);
      bar_open_ = true;
      if (e.finished) {
        std::fputc('\n', out_);
        bar_open_ = false;
      }
      break;
    }
    case ProgressStyle::kLines:
    case ProgressStyle::kAuto:
      if (!force && emitted_ && since < line_every_s) return;
      fmt::print(out_, "opal: {} {} {}{}  {}  elapsed {}{}\n", e.task, count, e.unit,
                 e.total > 0 ? fmt::format(" ({:.0f}%)", 100 * std::min(1.0, e.done / e.total)) : "", e.detail,
                 FormatClock(e.elapsed_s), eta);
      break;
  }
  std::fflush(out_);
  emitted_ = true;
  last_emit_ = now;
}

}  // namespace opal
