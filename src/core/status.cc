#include "opal/status.h"

#include <cstdio>
#include <cstdlib>

namespace opal {

int ExitCodeFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return 0;
    case ErrorCode::kInternal: return 1;
    case ErrorCode::kInvalidArgument: return 2;
    case ErrorCode::kNotFound:
    case ErrorCode::kIo: return 3;
    case ErrorCode::kInvalidModel: return 4;
    case ErrorCode::kUnsupported: return 5;
    case ErrorCode::kUnavailable: return 6;
    case ErrorCode::kFailed: return 7;
    case ErrorCode::kTimeout: return 8;
    case ErrorCode::kCancelled: return 130;
  }
  return 1;
}

const char* ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return "ok";
    case ErrorCode::kInternal: return "internal";
    case ErrorCode::kInvalidArgument: return "invalid-argument";
    case ErrorCode::kNotFound: return "not-found";
    case ErrorCode::kIo: return "io";
    case ErrorCode::kInvalidModel: return "invalid-model";
    case ErrorCode::kUnsupported: return "unsupported";
    case ErrorCode::kUnavailable: return "unavailable";
    case ErrorCode::kFailed: return "failed";
    case ErrorCode::kTimeout: return "timeout";
    case ErrorCode::kCancelled: return "cancelled";
  }
  return "internal";
}

Status Status::WithContext(const std::string& context) const {
  if (ok()) return *this;
  return Status(code_, context + ": " + message_);
}

void CheckFailed(const char* file, int line, const char* expr, const std::string& msg) {
  std::fprintf(stderr, "opal: internal error (a bug, please report it): %s:%d: check failed: %s%s%s\n",
               file, line, expr, msg.empty() ? "" : ": ", msg.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace opal
