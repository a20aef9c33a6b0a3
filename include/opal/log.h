// Diagnostics on stderr. Results go to stdout; everything a user might want to grep away goes
// here. The level comes from --verbose/--quiet or the OPAL_LOG environment variable
// (debug|info|warn|error). Thread-safe: one line is written with one call.
#pragma once

#include <fmt/core.h>

#include <string>
#include <utility>

namespace opal::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kOff = 4 };

void SetLevel(Level level);
Level GetLevel();
// Reads OPAL_LOG; unknown values are ignored.
void InitFromEnv();
void Write(Level level, const std::string& message);

template <typename... A>
void Debug(fmt::format_string<A...> f, A&&... a) {
  if (GetLevel() <= Level::kDebug) Write(Level::kDebug, fmt::format(f, std::forward<A>(a)...));
}
template <typename... A>
void Info(fmt::format_string<A...> f, A&&... a) {
  if (GetLevel() <= Level::kInfo) Write(Level::kInfo, fmt::format(f, std::forward<A>(a)...));
}
template <typename... A>
void Warn(fmt::format_string<A...> f, A&&... a) {
  if (GetLevel() <= Level::kWarn) Write(Level::kWarn, fmt::format(f, std::forward<A>(a)...));
}
template <typename... A>
void Error(fmt::format_string<A...> f, A&&... a) {
  if (GetLevel() <= Level::kError) Write(Level::kError, fmt::format(f, std::forward<A>(a)...));
}

}  // namespace opal::log
