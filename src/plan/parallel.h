// A parallel loop for the planner's independent pieces of work (the bounds of the micro-batch
// sizes, the balanced seeds, the report's searches), internal to opal_plan.
#pragma once

#include <functional>

namespace opal::plan {

// Threads a plan search uses when SearchOptions::threads is 0: the CPUs this process may run on
// (its affinity mask; at least 1).
int DefaultPlanThreads();

// Calls fn(i) once for every i in [0, n), on up to `threads` threads (the caller's among them),
// taking indices in increasing order; returns when every call has returned. `threads` <= 1 or
// n <= 1: in order, on the calling thread. fn must not throw.
void ParallelFor(int n, int threads, const std::function<void(int)>& fn);

}  // namespace opal::plan
