// Ahead-of-time compilation of lowered kernels to object files: one Halide function per kernel
// (exposing NAME_argv, see runtime/program.h), compiled in parallel child processes (a crash in
// the compiler fails that kernel with a message, not the build tool), and cached by content.
#pragma once

#include <string>
#include <vector>

#include "lower/lowering.h"
#include "opal/status.h"

namespace opal::build {

struct CompileJob {
  std::string name;            // C symbol of the kernel; NAME_argv is what the runtime calls
  const lower::KernelDef* def;
  std::string cache_key;       // identifies the kernel's code completely (see KernelCacheKey)
};

struct CompileOptions {
  std::string obj_dir;    // NAME.o are written here
  std::string cache_dir;  // "" = no cache
  int jobs = 1;           // parallel child processes
};

struct CompileOutcome {
  std::vector<std::string> objects;  // per job, in order
  int cached = 0;
};

// kFailed naming every kernel that did not compile, with the compiler's first line.
Result<CompileOutcome> CompileKernels(const std::vector<CompileJob>& jobs, const CompileOptions& o);

// The Halide runtime for the host target (threads, allocation, errors) as one object, cached.
Result<std::string> CompileHalideRuntime(const CompileOptions& o);

// Mixes what determines the generated code besides the kernel's own description: the Halide
// target of this host and the identity of the running opal binary (a rebuilt opal never reuses
// objects of an older one).
std::string KernelCacheKey(const std::string& kernel_description);

// The default cache folder ($XDG_CACHE_HOME/opal/kernels or ~/.cache/opal/kernels).
std::string DefaultKernelCacheDir();

}  // namespace opal::build
