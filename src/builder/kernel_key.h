// The identity of a lowered kernel: a description of everything that determines its code, whose
// hash names the AOT function (identical nodes share one kernel) and keys the object cache.
#pragma once

#include <string>

#include "lower/lowering.h"
#include "opal/graph.h"
#include "opal/tuning_space.h"

namespace opal::build {

// Op type and domain, the opset, every attribute, the dtype and shape of every input and output,
// the bytes of constant inputs the lowering read at build time (those that are not kernel params),
// the schedule config (when tunable), the kernel's kind and the views of its arguments.
std::string DescribeKernel(const Graph& g, const Node& n, const lower::KernelDef& def, const Config* config);

// "opal_" + 16 hex digits of the description's SHA-256: a valid C identifier.
std::string KernelName(const std::string& description);

}  // namespace opal::build
