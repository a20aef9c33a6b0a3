#include "opal/log.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace opal::log {
namespace {
std::atomic<Level> g_level{Level::kInfo};
std::mutex g_mu;
}  // namespace

void SetLevel(Level level) { g_level = level; }
Level GetLevel() { return g_level; }

void InitFromEnv() {
  const char* v = std::getenv("OPAL_LOG");
  if (!v) return;
  if (!std::strcmp(v, "debug")) SetLevel(Level::kDebug);
  if (!std::strcmp(v, "info")) SetLevel(Level::kInfo);
  if (!std::strcmp(v, "warn")) SetLevel(Level::kWarn);
  if (!std::strcmp(v, "error")) SetLevel(Level::kError);
  if (!std::strcmp(v, "off")) SetLevel(Level::kOff);
}

void Write(Level level, const std::string& message) {
  static const char* kPrefix[] = {"debug: ", "", "warning: ", "error: ", ""};
  std::lock_guard<std::mutex> lock(g_mu);
  std::fprintf(stderr, "opal: %s%s\n", kPrefix[static_cast<int>(level)], message.c_str());
  std::fflush(stderr);
}

}  // namespace opal::log
