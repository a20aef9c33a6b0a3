// Errors of the Python package: every opal Status becomes a Python exception of the class of its
// ErrorCode, carrying the same one-line message the CLI prints after "opal: error: ".
//
//   OpalError (Exception)            .code ("invalid-model", ...) and .exit_code (the CLI's)
//     InvalidArgumentError (+ValueError), NotFoundError (+LookupError), IoError (+OSError),
//     InvalidModelError, UnsupportedError, UnavailableError, FailedError, TimeoutError_ (named
//     "OpalTimeoutError"), CancelledError, InternalError
#pragma once

#include <pybind11/pybind11.h>

#include <utility>

#include "opal/status.h"

namespace opal::python {

// Creates the exception classes in module `m` (once, at import).
void RegisterErrors(pybind11::module_& m);

// Raises the Python exception of `status` (precondition: !status.ok()).
[[noreturn]] void Raise(const Status& status);

inline void Check(const Status& status) {
  if (!status.ok()) Raise(status);
}

template <typename T>
T Unwrap(Result<T> result) {
  if (!result.ok()) Raise(result.status());
  return std::move(result).value();
}

}  // namespace opal::python
