#include "tune/kernel_measure.h"

#include <fmt/format.h>
#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

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

// What every measuring child does first: no core dumps from deliberately broken candidates, and
// the kernels' thread pool sized for the target. Returns the device lock's path.
std::string SetUpChild(const Target& t, const MeasureOptions& options) {
  rlimit no_core{0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  const int threads = options.threads > 0 ? options.threads : std::max(1, t.cores);
  setenv("HL_NUM_THREADS", std::to_string(threads).c_str(), 1);
  opal_rt::SetPoolThreads(threads);  // the pool JIT kernels run their parallel loops on
  return DeviceLockPath(options, t);
}

// Builds one kernel while no other kernel is timed on this machine (BuildSlot).
Result<std::unique_ptr<Kernel>> BuildInSlot(const KernelBuilder& build, bool wrong,
                                            const std::string& lock_path, TrialChannel& ch,
                                            double* build_s) {
  ch.EnterWaitPhase();
  std::optional<BuildSlot> slot(std::in_place, lock_path);  // no build while a kernel is timed
  ch.EnterBuildPhase();
  auto t0 = Clock::now();
  auto kernel = build(wrong);
  *build_s += Seconds(t0, Clock::now());
  return kernel;
}

// A workload's operands: random inputs in [-1, 1] (from `rng`), the output filled with NaN.
struct Operands {
  OperandShapes shapes;
  std::vector<AlignedFloats> inputs;
  std::vector<const float*> in_ptrs;
  AlignedFloats out{1};
  Operands(const Workload& w, std::mt19937_64& rng) : shapes(OperandsOf(w)) {
    std::uniform_real_distribution<float> dist(-1.f, 1.f);
    for (const auto& s : shapes.inputs) {
      inputs.emplace_back(NumElements(s));
      for (int64_t i = 0; i < inputs.back().size(); ++i) inputs.back().data()[i] = dist(rng);
      in_ptrs.push_back(inputs.back().data());
    }
    out = AlignedFloats(NumElements(shapes.output));
    std::fill(out.data(), out.data() + out.size(), std::numeric_limits<float>::quiet_NaN());
  }
};

// Prepares `kernel` (weight re-layouts, untimed, as at model load), runs it once and, with
// `verify`, checks the output against the reference. A failure, or nullopt when it passed.
std::optional<TrialResult> PrepareAndVerify(const Workload& w, Kernel& kernel, Operands& op,
                                            bool verify, std::mt19937_64& rng, double build_s,
                                            double* max_abs_error) {
  kernel.Prepare(op.in_ptrs);
  Status st = kernel.Run(op.in_ptrs, op.out.data());
  if (!st.ok()) return Fail(TrialStatus::kRuntimeError, st.message(), build_s);
  if (!verify) return std::nullopt;
  for (int64_t i = 0; i < op.out.size(); ++i) {
    if (std::isnan(op.out.data()[i])) {
      return Fail(TrialStatus::kMismatch,
                  fmt::format("output element {} was not written (or is NaN)", i), build_s);
    }
  }
  for (int64_t i : ElementsToCheck(w, op.shapes.output, rng)) {
    double abs_sum = 0;
    const double want = ReferenceElement(w, op.in_ptrs, i, &abs_sum);
    const double got = op.out.data()[i];
    const double err = std::fabs(got - want);
    *max_abs_error = std::max(*max_abs_error, err);
    if (!(err <= 1e-4 * abs_sum + 1e-6)) {
      return Fail(TrialStatus::kMismatch,
                  fmt::format("output element {}: got {:.6g}, reference {:.6g} (tolerance {:.3g})",
                              i, got, want, 1e-4 * abs_sum + 1e-6),
                  build_s);
    }
  }
  return std::nullopt;
}

// Warm-up; the last warm-up time sets how many calls make one repeat (>= min_repeat_s).
Result<int> WarmUp(Kernel& kernel, Operands& op, const MeasureOptions& options) {
  double per_call = 0;
  for (int i = 0; i < std::max(1, options.warmup); ++i) {
    auto a = Clock::now();
    Status st = kernel.Run(op.in_ptrs, op.out.data());
    per_call = Seconds(a, Clock::now());
    if (!st.ok()) return st;
  }
  return std::max(1, static_cast<int>(std::ceil(options.min_repeat_s / std::max(per_call, 1e-7))));
}

// One timed repeat: `calls` calls, each after the activations are rewritten (untimed) by the
// pool's threads as a producer kernel would (see ActivationWriter). Seconds per call.
Result<double> TimeRepeat(Kernel& kernel, Operands& op, ActivationWriter& producer, int calls) {
  double sum = 0;
  Status st = Status::Ok();
  for (int c = 0; c < calls; ++c) {
    producer.Rewrite();
    auto a = Clock::now();
    st = kernel.Run(op.in_ptrs, op.out.data());
    sum += Seconds(a, Clock::now());
  }
  if (!st.ok()) return st;
  return sum / calls;
}

TrialResult MeasureInChild(const Workload& w, const Target& t, const KernelBuilder& build,
                           const MeasureOptions& options, InjectedFault fault, TrialChannel& ch) {
  const std::string lock_path = SetUpChild(t, options);
  double build_s = 0;
  if (fault == InjectedFault::kBuildError) {
    ch.EnterBuildPhase();
    return Fail(TrialStatus::kBuildError, "injected build error");
  }
  auto kernel = BuildInSlot(build, fault == InjectedFault::kWrongResult, lock_path, ch, &build_s);
  if (!kernel.ok()) return Fail(TrialStatus::kBuildError, kernel.status().message(), build_s);

  ch.EnterWaitPhase();
  // Verification needs no lock, but a machine busy with another measurement would slow it: take
  // the lock before any run of the candidate so the run-phase limit applies to our runs only.
  DeviceLock lock(lock_path);
  ch.EnterRunPhase();

  const uint64_t seed =
      options.seed ? options.seed : std::random_device{}() ^ (uint64_t(getpid()) << 32);
  std::mt19937_64 rng(seed);
  Operands op(w, rng);

  if (fault == InjectedFault::kCrash) raise(SIGSEGV);
  if (fault == InjectedFault::kHang) {
    volatile bool forever = true;
    while (forever) {
    }
  }

  TrialResult r;
  r.build_s = build_s;
  if (auto failed =
          PrepareAndVerify(w, **kernel, op, options.verify, rng, build_s, &r.max_abs_error))
    return *failed;
  auto calls = WarmUp(**kernel, op, options);
  if (!calls.ok()) return Fail(TrialStatus::kRuntimeError, calls.status().message(), build_s);
  // In a model a kernel's activations were just written by the previous kernel on every thread
  // of the pool, so part of them sits in another core's cache; a loop of calls on the same
  // buffers would keep them where this kernel's own threads left them and favour schedules
  // whose threads read what they read last time (or one thread reading everything). Before each
  // call the activations are rewritten (same values) in contiguous shares by all the pool's
  // threads, untimed, as a producer kernel would.
  ActivationWriter producer(w, op.inputs);
  for (int rep = 0; rep < std::max(1, options.repeats); ++rep) {
    auto s = TimeRepeat(**kernel, op, producer, *calls);
    if (!s.ok()) return Fail(TrialStatus::kRuntimeError, s.status().message(), build_s);
    r.times_s.push_back(*s);
  }
  r.status = TrialStatus::kOk;
  return r;
}

// Side by side in one child: builds every kernel, verifies each, then times `rounds` rounds of one
// repeat per kernel, back to back, the order rotating. times_s holds round r's time of kernel i at
// r * n + i (n = builds.size()), -1 where kernel i failed (its error is in `error`, prefixed
// "#i: "); kRuntimeError only when no kernel ran.
TrialResult MeasureSideBySideInChild(const Workload& w, const Target& t,
                                     const std::vector<KernelBuilder>& builds,
                                     const MeasureOptions& options, int rounds, TrialChannel& ch) {
  const std::string lock_path = SetUpChild(t, options);
  const size_t n = builds.size();
  TrialResult r;
  std::vector<std::unique_ptr<Kernel>> kernels(n);
  std::vector<std::string> errors(n);
  for (size_t i = 0; i < n; ++i) {
    auto k = BuildInSlot(builds[i], false, lock_path, ch, &r.build_s);
    if (k.ok())
      kernels[i] = std::move(*k);
    else
      errors[i] = "build error: " + k.status().message();
  }
  ch.EnterWaitPhase();
  DeviceLock lock(lock_path);
  ch.EnterRunPhase();
  std::mt19937_64 rng(options.seed ? options.seed
                                   : std::random_device{}() ^ (uint64_t(getpid()) << 32));
  Operands op(w, rng);
  std::vector<int> calls(n, 0);
  for (size_t i = 0; i < n; ++i) {
    if (!kernels[i]) continue;
    std::fill(op.out.data(), op.out.data() + op.out.size(),
              std::numeric_limits<float>::quiet_NaN());
    if (auto failed = PrepareAndVerify(w, *kernels[i], op, options.verify, rng, r.build_s,
                                       &r.max_abs_error)) {
      errors[i] = std::string(TrialStatusName(failed->status)) + ": " + failed->error;
      kernels[i].reset();
    } else if (auto c = WarmUp(*kernels[i], op, options); !c.ok()) {
      errors[i] = "runtime error: " + c.status().message();
      kernels[i].reset();
    } else {
      calls[i] = *c;
    }
  }
  ActivationWriter producer(w, op.inputs);
  r.times_s.assign(n * static_cast<size_t>(std::max(1, rounds)),
                   -1.0);  // -1: no time (JSON has no NaN)
  for (int round = 0; round < std::max(1, rounds); ++round) {
    for (size_t j = 0; j < n; ++j) {
      const size_t i = (j + static_cast<size_t>(round)) % n;
      if (!kernels[i]) continue;
      auto s = TimeRepeat(*kernels[i], op, producer, calls[i]);
      if (s.ok()) {
        r.times_s[static_cast<size_t>(round) * n + i] = *s;
      } else {
        errors[i] = "runtime error: " + s.status().message();
        kernels[i].reset();
      }
    }
  }
  bool any = false;
  for (size_t i = 0; i < n; ++i) {
    any = any || kernels[i] != nullptr;
    if (!errors[i].empty())
      r.error += fmt::format("{}#{}: {}", r.error.empty() ? "" : "\n", i, errors[i]);
  }
  r.status = any ? TrialStatus::kOk : TrialStatus::kRuntimeError;
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

std::vector<std::vector<double>> MeasureKernelsSideBySide(const Workload& w, const Target& t,
                                                          const std::vector<KernelBuilder>& builds,
                                                          const MeasureOptions& options, int rounds,
                                                          std::vector<std::string>* errors) {
  const size_t n = builds.size();
  std::vector<std::vector<double>> out(n);
  if (errors) errors->assign(n, "");
  if (n == 0) return out;
  rounds = std::max(1, rounds);
  // The run phase holds every kernel's verification, warm-up and rounds: the per-trial limit
  // scaled by the number of kernels (each round times each once, as a trial's repeats do).
  const double run_limit =
      options.run_timeout_s * static_cast<double>(n) *
      std::max(1.0, static_cast<double>(rounds) / std::max(1, options.repeats));
  TrialResult r = RunSandboxed(
      [&](TrialChannel& ch) { return MeasureSideBySideInChild(w, t, builds, options, rounds, ch); },
      options.build_timeout_s, run_limit);
  if (r.times_s.size() == n * static_cast<size_t>(rounds)) {
    for (int round = 0; round < rounds; ++round)
      for (size_t i = 0; i < n; ++i)
        if (double s = r.times_s[static_cast<size_t>(round) * n + i]; s > 0) out[i].push_back(s);
  }
  if (errors) {
    for (size_t i = 0; i < n; ++i)
      if (out[i].empty()) (*errors)[i] = std::string(TrialStatusName(r.status)) + ": " + r.error;
    // A kernel's own error line ("#i: ...") when the child reported one.
    size_t pos = 0;
    while (pos < r.error.size()) {
      size_t nl = r.error.find('\n', pos);
      if (nl == std::string::npos) nl = r.error.size();
      const std::string line = r.error.substr(pos, nl - pos);
      size_t i = 0, colon = line.find(": ");
      if (line.size() > 1 && line[0] == '#' && colon != std::string::npos &&
          std::sscanf(line.c_str() + 1, "%zu", &i) == 1 && i < n)
        (*errors)[i] = line.substr(colon + 2);
      pos = nl + 1;
    }
  }
  return out;
}

}  // namespace opal::tune
