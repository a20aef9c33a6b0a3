// Errors in opal.
//
// Expected failures (a bad model, a missing file, an unreachable database, a failed build) are
// values: functions return `Status` or `Result<T>`, and the message is written for the user who
// will read it on one line ("what failed: why; what to do"). Bugs are assertions (OPAL_CHECK),
// never Status values. Every ErrorCode maps to one documented process exit code (docs/cli.md),
// so scripts can tell a bad model from an unreachable database.
#pragma once

#include <fmt/core.h>

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace opal {

enum class ErrorCode {
  kOk = 0,
  kInternal,         // a bug in opal                                    exit 1
  kInvalidArgument,  // bad command-line flag or option value            exit 2
  kNotFound,         // a file, record or name that does not exist       exit 3
  kIo,               // a file exists but cannot be read or written      exit 3
  kInvalidModel,     // malformed model: not ONNX, truncated, cycle ...  exit 4
  kUnsupported,      // valid input that opal does not support (yet)     exit 5
  kUnavailable,      // a server or database cannot be reached           exit 6
  kFailed,           // an operation ran and failed (build, tuning)      exit 7
  kTimeout,          // an operation ran out of time                     exit 8
  kCancelled,        // interrupted by a signal                          exit 130
};

// The process exit code for an error code (0 for kOk).
int ExitCodeFor(ErrorCode code);
// Short stable name ("invalid-model") used in --json output.
const char* ErrorCodeName(ErrorCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status Ok() { return Status(); }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Returns a copy whose message is "CONTEXT: message" (used to say where an error happened,
  // e.g. which node of a model).
  Status WithContext(const std::string& context) const;

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

// Builds a Status with a fmt-formatted message.
template <typename... Args>
Status Error(ErrorCode code, fmt::format_string<Args...> f, Args&&... args) {
  return Status(code, fmt::format(f, std::forward<Args>(args)...));
}

// A value or the Status explaining why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {
    if (std::get<Status>(v_).ok()) v_ = Status(ErrorCode::kInternal, "Result built from OK status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  // Precondition: ok().
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

// Aborts with a message: for violated invariants (bugs), never for user input.
[[noreturn]] void CheckFailed(const char* file, int line, const char* expr, const std::string& msg);

}  // namespace opal

#define OPAL_CHECK(cond, ...)                                                             \
  do {                                                                                    \
    if (!(cond)) ::opal::CheckFailed(__FILE__, __LINE__, #cond, ::fmt::format("" __VA_ARGS__)); \
  } while (0)

#define OPAL_CONCAT_INNER(a, b) a##b
#define OPAL_CONCAT(a, b) OPAL_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function if `expr` (a Status) is an error.
#define OPAL_RETURN_IF_ERROR(expr)             \
  do {                                         \
    ::opal::Status _opal_st = (expr);          \
    if (!_opal_st.ok()) return _opal_st;       \
  } while (0)

// `OPAL_ASSIGN_OR_RETURN(auto x, F());` declares x from a Result, or returns its Status.
#define OPAL_ASSIGN_OR_RETURN(lhs, expr) \
  OPAL_ASSIGN_OR_RETURN_IMPL(OPAL_CONCAT(_opal_res_, __LINE__), lhs, expr)
#define OPAL_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.status();              \
  lhs = std::move(tmp).value()
