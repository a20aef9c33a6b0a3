// The parts of the extension module opal._opal, one function per file (python/src/bind_*.cc).
#pragma once

#include <pybind11/pybind11.h>

namespace opal::python {

void BindBuild(pybind11::module_& m);     // tasks, build, deliver, target
void BindModel(pybind11::module_& m);     // Model: run, bench, profile of a built model
void BindStore(pybind11::module_& m);     // Store, CostModel
void BindPlan(pybind11::module_& m);      // plan
void BindProgress(pybind11::module_& m);  // progress listener

}  // namespace opal::python
