// InstallThreadPool (thread_pool.h), apart from the pool: it needs the Halide runtime that every
// built model links, and the tuner links the pool without that runtime (its JIT kernels reach the
// pool through their own handler, halide_kernel.cc).
#include <mutex>

#include "runtime/thread_pool.h"

namespace opal_rt {

void InstallThreadPool() {
  static std::once_flag once;
  std::call_once(once, [] { halide_set_custom_do_par_for(PoolDoParFor); });
}

}  // namespace opal_rt
