#include "tune/kernel_measure.h"

#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>
#include <random>

#include "runtime/thread_pool.h"
#include "tune/contraction.h"
#include "tune/reference_kernels.h"
#include "tune/sandbox.h"

namespace opal::tune {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// Output elements to verify: all of them for small workloads, else edges + random samples.
std::vector<int64_t> ElementsToCheck(const Workload& w, const std::vector<int64_t>& out_shape,
                                     std::mt19937_64& rng) {
  const int64_t total = NumElements(out_shape);
  std::vector<int64_t> idx;
  if (static_cast<double>(total) * static_cast<double>(ReductionLength(w)) <= 3e7) {
    idx.resize(static_cast<size_t>(total));
    for (int64_t i = 0; i < total; ++i) idx[static_cast<size_t>(i)] = i;
    return idx;
  }
  const int64_t cols = out_shape.back();
  const int64_t rows = out_shape.size() >= 2 ? out_shape[out_shape.size() - 2] : 1;
  const int64_t planes = total / (rows * cols);
  std::vector<int64_t> edges;
  for (int64_t p = 0; p < planes; ++p) {
    const int64_t base = p * rows * cols;
    for (int64_t c = 0; c < cols; ++c) {
      edges.push_back(base + c);
      edges.push_back(base + (rows - 1) * cols + c);
    }
    for (int64_t r = 0; r < rows; ++r) {
      edges.push_back(base + r * cols);
      edges.push_back(base + r * cols + cols - 1);
    }
  }
  if (edges.size() > 50000) {
    std::shuffle(edges.begin(), edges.end(), rng);
    edges.resize(50000);
  }
  idx = std::move(edges);
  std::uniform_int_distribution<int64_t> any(0, total - 1);
  for (int i = 0; i < 4096; ++i) idx.push_back(any(rng));
  return idx;
}

// Rewrites a workload's activation operands (the data input; both operands of a batched
// product) from a pristine copy, split into contiguous shares over the thread pool.
class ActivationWriter {
 public:
  ActivationWriter(const Workload& w, std::vector<AlignedFloats>& inputs) {
    const size_t n = w.op() == "batch_matmul" ? inputs.size() : std::min<size_t>(1, inputs.size());
    for (size_t i = 0; i < n; ++i) {
      float* p = inputs[i].data();
      targets_.push_back({p, std::vector<float>(p, p + inputs[i].size())});
    }
  }

  void Rewrite() {
    for (Target& t : targets_) {
      current_ = &t;
      opal_rt::PoolDoParFor(this, &ActivationWriter::Share, 0, kShares, nullptr);
    }
  }

 private:
  static constexpr int kShares = 8;
  struct Target {
    float* data;
    std::vector<float> pristine;
  };

  static int Share(void* self, int i, uint8_t*) {
    const Target& t = *static_cast<ActivationWriter*>(self)->current_;
    const size_t n = t.pristine.size(), begin = n * i / kShares, end = n * (i + 1) / kShares;
    std::copy(t.pristine.begin() + begin, t.pristine.begin() + end, t.data + begin);
    return 0;
  }

  std::vector<Target> targets_;
  Target* current_ = nullptr;
};

TrialResult Fail(TrialStatus s, std::string error, double build_s = 0) {
  TrialResult r;
  r.status = s;
  r.error = std::move(error);
  r.build_s = build_s;
  return r;
}

TrialResult MeasureInChild(const Workload& w, const Target& t, const KernelBuilder& build,
                           const MeasureOptions& options, InjectedFault fault, TrialChannel& ch) {
  // No core dumps from deliberately broken candidates.
  rlimit no_core{0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  const int threads = options.threads > 0 ? options.threads : std::max(1, t.cores);
  setenv("HL_NUM_THREADS", std::to_string(threads).c_str(), 1);
  opal_rt::SetPoolThreads(threads);  // the pool JIT kernels run their parallel loops on

  const std::string lock_path = DeviceLockPath(options, t);
  ch.EnterWaitPhase();
  std::optional<BuildSlot> slot(std::in_place, lock_path);  // no build while a kernel is timed
  ch.EnterBuildPhase();
  auto t0 = Clock::now();
  if (fault == InjectedFault::kBuildError)
    return Fail(TrialStatus::kBuildError, "injected build error");
  auto kernel = build(fault == InjectedFault::kWrongResult);
  const double build_s = Seconds(t0, Clock::now());
  slot.reset();
  if (!kernel.ok()) return Fail(TrialStatus::kBuildError, kernel.status().message(), build_s);

  ch.EnterWaitPhase();
  // Verification needs no lock, but a machine busy with another measurement would slow it: take
  // the lock before any run of the candidate so the run-phase limit applies to our runs only.
  DeviceLock lock(lock_path);
  ch.EnterRunPhase();

  const uint64_t seed =
      options.seed ? options.seed : std::random_device{}() ^ (uint64_t(getpid()) << 32);
  std::mt19937_64 rng(seed);
  OperandShapes shapes = OperandsOf(w);
  std::vector<AlignedFloats> inputs;
  std::vector<const float*> in_ptrs;
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  for (const auto& s : shapes.inputs) {
    inputs.emplace_back(NumElements(s));
    for (int64_t i = 0; i < inputs.back().size(); ++i) inputs.back().data()[i] = dist(rng);
    in_ptrs.push_back(inputs.back().data());
  }
  AlignedFloats out(NumElements(shapes.output));
  std::fill(out.data(), out.data() + out.size(), std::numeric_limits<float>::quiet_NaN());

  if (fault == InjectedFault::kCrash) raise(SIGSEGV);
  if (fault == InjectedFault::kHang) {
    volatile bool forever = true;
    while (forever) {
    }
  }

  (*kernel)->Prepare(in_ptrs);  // weight re-layouts happen once, untimed (as at model load)
  Status st = (*kernel)->Run(in_ptrs, out.data());
  if (!st.ok()) return Fail(TrialStatus::kRuntimeError, st.message(), build_s);

  TrialResult r;
  r.build_s = build_s;
  if (options.verify) {
    for (int64_t i = 0; i < out.size(); ++i) {
      if (std::isnan(out.data()[i])) {
        return Fail(TrialStatus::kMismatch,
                    fmt::format("output element {} was not written (or is NaN)", i), build_s);
      }
    }
    for (int64_t i : ElementsToCheck(w, shapes.output, rng)) {
      double abs_sum = 0;
      const double want = ReferenceElement(w, in_ptrs, i, &abs_sum);
      const double got = out.data()[i];
      const double err = std::fabs(got - want);
      r.max_abs_error = std::max(r.max_abs_error, err);
      if (!(err <= 1e-4 * abs_sum + 1e-6)) {
        return Fail(
            TrialStatus::kMismatch,
            fmt::format("output element {}: got {:.6g}, reference {:.6g} (tolerance {:.3g})", i,
                        got, want, 1e-4 * abs_sum + 1e-6),
            build_s);
      }
    }
  }

  // Warm-up; the last warm-up time sets how many calls make one repeat.
  double per_call = 0;
  for (int i = 0; i < std::max(1, options.warmup); ++i) {
    auto a = Clock::now();
    st = (*kernel)->Run(in_ptrs, out.data());
    per_call = Seconds(a, Clock::now());
    if (!st.ok()) return Fail(TrialStatus::kRuntimeError, st.message(), build_s);
  }
  const int calls =
      std::max(1, static_cast<int>(std::ceil(options.min_repeat_s / std::max(per_call, 1e-7))));
  // In a model a kernel's activations were just written by the previous kernel on every thread
  // of the pool, so part of them sits in another core's cache; a loop of calls on the same
  // buffers would keep them where this kernel's own threads left them and favour schedules
  // whose threads read what they read last time (or one thread reading everything). Before each
  // call the activations are rewritten (same values) in contiguous shares by all the pool's
  // threads, untimed, as a producer kernel would.
  ActivationWriter producer(w, inputs);
  for (int rep = 0; rep < std::max(1, options.repeats); ++rep) {
    double sum = 0;
    for (int c = 0; c < calls; ++c) {
      producer.Rewrite();
      auto a = Clock::now();
      st = (*kernel)->Run(in_ptrs, out.data());
      sum += Seconds(a, Clock::now());
    }
    r.times_s.push_back(sum / calls);
    if (!st.ok()) return Fail(TrialStatus::kRuntimeError, st.message(), build_s);
  }
  r.status = TrialStatus::kOk;
  return r;
}

}  // namespace

AlignedFloats::AlignedFloats(int64_t n) : n_(n) {
  size_t bytes = (static_cast<size_t>(std::max<int64_t>(n, 1)) * sizeof(float) + 63) / 64 * 64;
  p_.reset(static_cast<float*>(std::aligned_alloc(64, bytes)));
  OPAL_CHECK(p_ != nullptr, "out of memory allocating {} bytes", bytes);
}

TrialResult MeasureKernel(const Workload& w, const Target& t, const KernelBuilder& build,
                          const MeasureOptions& options, InjectedFault fault) {
  return RunSandboxed(
      [&](TrialChannel& ch) { return MeasureInChild(w, t, build, options, fault, ch); },
      options.build_timeout_s, options.run_timeout_s);
}

}  // namespace opal::tune
