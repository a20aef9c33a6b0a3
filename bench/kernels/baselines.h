// Peer implementations measured in the same run as opal's tuned kernels: oneDNN (its preferred
// layouts, weight/layout reorders outside the timing, as a framework using it end to end would
// run) and OpenBLAS (sgemm; conv as im2col + sgemm with im2col inside the timing).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "opal/tuning_space.h"
#include "opal/workload.h"
#include "opal/tuning_kernel.h"

namespace opal::bench {

// A prepared peer kernel: Run() computes the workload once on buffers it owns.
class PeerKernel {
 public:
  virtual ~PeerKernel() = default;
  virtual void Run() = 0;
  // Which implementation the peer picked (e.g. oneDNN's "brg:avx2").
  virtual std::string Impl() const = 0;
};

// nullptr with *why set when the peer is not built in or cannot run the workload.
std::unique_ptr<PeerKernel> MakeOneDnn(const Workload& w, std::string* why);
std::unique_ptr<PeerKernel> MakeOpenBlas(const Workload& w, std::string* why);

// opal's kernel for `config` (the halide framework), built in this process, its weights
// prepared, run once; nullptr with *why set when it cannot be built or run.
std::unique_ptr<PeerKernel> MakeOpalKernel(const Workload& w, const Config& config, std::string* why);

// The input operands of `w` (tune::OperandsOf), filled with uniform random values in [-1, 1).
std::vector<tune::AlignedFloats> RandomInputs(const Workload& w, unsigned seed);

// Median seconds per call over `repeats` repeats of at least min_repeat_s each, after warm-up.
double TimeMedian(const std::function<void()>& fn, int repeats, double min_repeat_s);

// `rounds` rounds that each time every kernel once (TimeMedian) in turn, so that the machine's
// clock drift hits all of them alike: result[k][round] is kernel k's median in that round (no
// rounds for a null kernel: result[k] is empty).
std::vector<std::vector<double>> TimeAlternating(const std::vector<PeerKernel*>& kernels, int rounds, int repeats,
                                                 double min_repeat_s);

// The median of v (0 when empty).
double Median(std::vector<double> v);

}  // namespace opal::bench
