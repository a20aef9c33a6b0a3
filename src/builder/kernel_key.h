// The identity of a lowered kernel: a description of everything that determines its code, whose
// hash names the AOT function (identical nodes share one kernel) and keys the object cache.
#pragma once

#include <string>

#include "lower/lowering.h"
#include "opal/graph.h"
#include "opal/tuning_space.h"

namespace opal::build {

// For the anchor and every fused node of `group`, in order: op type and domain, every attribute,
// the dtype and shape of every input and output, the bytes of constant inputs the lowering read
// at build time (those that are not kernel params), and which inputs are values of the group; then
// the opset, the schedule config (when tunable), the kernel's kind and the views of its arguments.
std::string DescribeKernel(const Graph& g, const lower::KernelGroup& group, const lower::KernelDef& def,
                           const Config* config);

// "opal_" + 16 hex digits of the description's SHA-256: a valid C identifier.
std::string KernelName(const std::string& description);

}  // namespace opal::build
