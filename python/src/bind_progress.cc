// Progress of long work (opal/progress.h) delivered to a Python callable: every event of every
// Progress in the process (tuning trials of opal.deliver with a budget, ...) becomes a dict
// {"event", "task", "done", "total", "unit", "elapsed_s", "eta_s", "detail"} passed to the
// callable, on the thread doing the work, with the GIL taken for the call. An exception raised by
// the callable is printed (sys.unraisablehook) and the work goes on.
#include <pybind11/functional.h>

#include <memory>

#include "bindings.h"
#include "opal/progress.h"

namespace py = pybind11;

namespace opal::python {
namespace {

void SetListener(py::object fn) {
  if (fn.is_none()) {
    SetProgressListener(nullptr);
    return;
  }
  // The callable is kept alive by the listener; it is released with the GIL held.
  auto holder = std::shared_ptr<py::object>(new py::object(std::move(fn)), [](py::object* o) {
    py::gil_scoped_acquire gil;
    delete o;
  });
  SetProgressListener([holder](const ProgressEvent& e) {
    py::gil_scoped_acquire gil;
    try {
      py::dict d;
      d["event"] = e.finished ? "done" : "progress";
      d["task"] = e.task;
      d["done"] = e.done;
      d["total"] = e.total;
      d["unit"] = e.unit;
      d["elapsed_s"] = e.elapsed_s;
      d["eta_s"] = e.eta_s;
      d["detail"] = e.detail;
      (*holder)(d);
    } catch (py::error_already_set& err) {
      err.discard_as_unraisable("opal progress listener");
    }
  });
}

}  // namespace

void BindProgress(py::module_& m) {
  m.def("set_progress_listener", &SetListener, py::arg("fn"),
        "Calls fn(event_dict) for every progress event of opal's long work; None removes it.");
}

}  // namespace opal::python
