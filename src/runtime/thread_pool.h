// The kernels' thread pool: a fork-join pool that runs the parallel loops of every kernel of a
// built model (installed as Halide's do_par_for at load). Internal to opal_rt.
//
// Why not Halide's own pool: its workers sleep on a condition variable between parallel loops, so
// each of a model's 50-300 kernel calls pays a wake-up (tens of microseconds, more when the host
// deschedules the sleeper) and latency shows two modes. Here the workers spin for a while
// (kSpinMicros) after each loop, so back-to-back kernels of one run start their loops within a
// microsecond, and sleep only when the model is idle.
#pragma once

#include <HalideRuntime.h>

namespace opal_rt {

// Spin this long after the last parallel loop before sleeping.
constexpr int kSpinMicros = 4000;

// Sets the number of threads that run parallel loops (the caller counts as one: n - 1 workers are
// started). n <= 1: loops run on the caller. Safe to call again (workers are stopped and restarted);
// not while a loop runs.
void SetPoolThreads(int n);

// Halide's do_par_for contract: runs task(ctx, i, closure) for i in [min, min + size), returns 0 or
// the first non-zero task result. Loops started from inside a task (nested) run on the calling
// thread. Loops started by several threads at once run one after the other.
int PoolDoParFor(void* user_context, halide_task_t task, int min, int size, uint8_t* closure);

// Installs PoolDoParFor as Halide's do_par_for for the kernels of this library (idempotent).
// Defined in pool_install.cc, apart from the pool, so that a program without that runtime
// (the tuner, whose JIT kernels take the pool through their own handler) can link the pool.
void InstallThreadPool();

}  // namespace opal_rt
