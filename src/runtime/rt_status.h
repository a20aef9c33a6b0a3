// Errors inside opal_rt: an opal_status code and a one-line message (the C API stores the message
// in a thread-local slot for opal_last_error). No dependency on opal's own Status: the runtime
// is linked into built models that carry nothing of opal.
#pragma once

#include <cstdarg>
#include <cstdio>
#include <string>

#include "opal/runtime.h"

namespace opal_rt {

struct RtStatus {
  int code = OPAL_OK;
  std::string message;
  bool ok() const { return code == OPAL_OK; }
};

inline RtStatus RtOk() { return RtStatus{}; }

// printf-style message; the result is one line (newlines become spaces).
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
inline RtStatus
RtError(int code, const char* fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  RtStatus s{code, buf};
  for (char& c : s.message) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

}  // namespace opal_rt
