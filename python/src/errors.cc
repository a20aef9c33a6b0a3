#include "errors.h"

#include <map>
#include <string>

namespace py = pybind11;

namespace opal::python {
namespace {

struct ErrorClass {
  ErrorCode code;
  const char* name;
  PyObject* extra_base;  // a built-in exception the class also derives from, or nullptr
  const char* doc;
};

std::map<ErrorCode, PyObject*>& Classes() {
  static std::map<ErrorCode, PyObject*> classes;
  return classes;
}

}  // namespace

void RegisterErrors(py::module_& m) {
  PyObject* base = PyErr_NewExceptionWithDoc(
      "opal.OpalError",
      "An opal operation failed. str(e) is the one-line message the CLI prints; e.code is its "
      "stable name ('invalid-model', ...) and e.exit_code the CLI's exit code.",
      PyExc_Exception, nullptr);
  m.attr("OpalError") = py::handle(base);
  Classes()[ErrorCode::kInternal] = base;
  const ErrorClass classes[] = {
      {ErrorCode::kInternal, "InternalError", nullptr, "A bug in opal (please report it)."},
      {ErrorCode::kInvalidArgument, "InvalidArgumentError", PyExc_ValueError,
       "A bad argument or value (the CLI's exit code 2)."},
      {ErrorCode::kNotFound, "NotFoundError", PyExc_LookupError,
       "A file, record or name that does not exist (exit code 3)."},
      {ErrorCode::kIo, "IoError", PyExc_OSError, "A file that cannot be read or written (exit 3)."},
      {ErrorCode::kInvalidModel, "InvalidModelError", nullptr,
       "A malformed model: not ONNX, truncated, shapes that do not fit (exit code 4)."},
      {ErrorCode::kUnsupported, "UnsupportedError", nullptr,
       "Valid input that opal does not support yet (exit code 5)."},
      {ErrorCode::kUnavailable, "UnavailableError", nullptr,
       "A server or database cannot be reached (exit code 6)."},
      {ErrorCode::kFailed, "FailedError", nullptr,
       "An operation ran and failed: a build, a tuning run (exit code 7)."},
      {ErrorCode::kTimeout, "OpalTimeoutError", PyExc_TimeoutError,
       "An operation ran out of time (exit code 8)."},
      {ErrorCode::kCancelled, "CancelledError", nullptr, "Interrupted (exit code 130)."},
  };
  for (const ErrorClass& c : classes) {
    PyObject* bases = c.extra_base ? PyTuple_Pack(2, base, c.extra_base) : PyTuple_Pack(1, base);
    const std::string qualified = std::string("opal.") + c.name;
    PyObject* cls = PyErr_NewExceptionWithDoc(qualified.c_str(), c.doc, bases, nullptr);
    Py_DECREF(bases);
    if (!cls) throw py::error_already_set();
    m.attr(c.name) = py::handle(cls);
    Classes()[c.code] = cls;
  }
}

void Raise(const Status& status) {
  auto it = Classes().find(status.code());
  PyObject* cls = it == Classes().end() ? Classes()[ErrorCode::kInternal] : it->second;
  py::object exc = py::reinterpret_borrow<py::object>(cls)(status.message());
  exc.attr("code") = ErrorCodeName(status.code());
  exc.attr("exit_code") = ExitCodeFor(status.code());
  PyErr_SetObject(cls, exc.ptr());
  throw py::error_already_set();
}

}  // namespace opal::python
