// The machine's measured fp32 peak: the yardstick for "% of peak" in benchmarks and reports.
#pragma once

namespace opal {

// Runs independent fused multiply-adds at the widest vector width the CPU supports (AVX-512,
// AVX2+FMA, else SSE mul+add) on `threads` threads for about `seconds` and returns the achieved
// GFLOP/s (2 FLOPs per lane per FMA). The best of `rounds` rounds is returned, since other load on
// the machine can only slow it down.
double MeasureFp32PeakGflops(int threads, double seconds = 0.2, int rounds = 3);

}  // namespace opal
