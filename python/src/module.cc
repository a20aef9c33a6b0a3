// opal._opal: the compiled half of the Python package `opal` (python/opal/ is the other half).
#include "bindings.h"
#include "errors.h"

PYBIND11_MODULE(_opal, m) {
  m.doc() = "opal's C++ library for the Python package (use `import opal`).";
  opal::python::RegisterErrors(m);
  opal::python::BindBuild(m);
  opal::python::BindModel(m);
  opal::python::BindStore(m);
  opal::python::BindPlan(m);
  opal::python::BindProgress(m);
}
