// The machine's measured fp32 peak: the yardstick for "% of peak" in benchmarks and reports.
#pragma once

namespace opal {

// A calibrated fp32 FMA loop: independent fused multiply-adds at the widest vector width the CPU
// supports (AVX-512, AVX2+FMA, else SSE mul+add) on `threads` threads. The construction calibrates
// the iteration count on one thread so that one Run() takes about `seconds`; every Run() then does
// the same Flops() (2 FLOPs per lane per FMA). A benchmark can time Run() between its kernels, so
// that "% of peak" is a ratio of two moments close together on a drifting clock.
class Fp32PeakLoop {
 public:
  Fp32PeakLoop(int threads, double seconds);
  // Runs the loop once on all threads; returns the GFLOP/s it achieved.
  double Run() const;
  double Flops() const { return double(threads_) * double(iters_) * flops_per_iter_; }

 private:
  int threads_;
  long iters_ = 0;
  double flops_per_iter_ = 0;
  double (*fn_)(long) = nullptr;
};

}  // namespace opal
