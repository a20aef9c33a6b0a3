// Validation of a model's program tables before the executor trusts them: every index in range,
// every tensor inside its storage, every kernel argument's view inside its tensor. A failure is a
// bug in the builder (or a library from another ABI), reported rather than crashing later.
#pragma once

#include "runtime/program.h"
#include "runtime/rt_status.h"

namespace opal_rt {

// OPAL_ERR_IO when the ABI differs from OPAL_RUNTIME_ABI; OPAL_ERR_ARGUMENT for inconsistent
// tables, naming the table entry.
RtStatus CheckProgram(const ProgramDesc& p);

}  // namespace opal_rt
