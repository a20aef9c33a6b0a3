// Linking a built model: the generated program, the kernels' objects, the Halide runtime object
// and the opal runtime (opal_rt) into one shared library with the C API of opal/runtime.h.
#pragma once

#include <string>
#include <vector>

#include "opal/status.h"

namespace opal::build {

// Compiles program.cc (-fPIC) and links with the recipe of runtime/model_link.h. Writes OUT atomically (a temporary, then rename).
// kFailed with the tail of the compiler's output when it fails.
Status LinkModelLibrary(const std::string& program_cc, const std::vector<std::string>& objects,
                        const std::string& out);

}  // namespace opal::build
