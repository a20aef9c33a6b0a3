#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "opal/tuning_peak.h"

namespace opal {
namespace {

// 12 independent accumulator chains hide the FMA latency (4 cycles x 2 ports + margin).
__attribute__((target("avx512f"))) double Avx512Chains(long iters) {
  __m512 a[12];
  const __m512 b = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
  for (int i = 0; i < 12; ++i) a[i] = _mm512_set1_ps(float(i));
  for (long it = 0; it < iters; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) a[i] = _mm512_fmadd_ps(a[i], b, c);
  }
  float s = 0, t[16];
  for (int i = 0; i < 12; ++i) {
    _mm512_storeu_ps(t, a[i]);
    s += t[0];
  }
  return s;
}

__attribute__((target("avx2,fma"))) double Avx2Chains(long iters) {
  __m256 a[12];
  const __m256 b = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
  for (int i = 0; i < 12; ++i) a[i] = _mm256_set1_ps(float(i));
  for (long it = 0; it < iters; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) a[i] = _mm256_fmadd_ps(a[i], b, c);
  }
  float s = 0, t[8];
  for (int i = 0; i < 12; ++i) {
    _mm256_storeu_ps(t, a[i]);
    s += t[0];
  }
  return s;
}

double SseChains(long iters) {
  __m128 a[12];
  const __m128 b = _mm_set1_ps(0.999999f), c = _mm_set1_ps(1e-7f);
  for (int i = 0; i < 12; ++i) a[i] = _mm_set1_ps(float(i));
  for (long it = 0; it < iters; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) a[i] = _mm_add_ps(_mm_mul_ps(a[i], b), c);
  }
  float s = 0, t[4];
  for (int i = 0; i < 12; ++i) {
    _mm_storeu_ps(t, a[i]);
    s += t[0];
  }
  return s;
}

}  // namespace

Fp32PeakLoop::Fp32PeakLoop(int threads, double seconds) : threads_(std::max(1, threads)) {
  fn_ = SseChains;
  flops_per_iter_ = 12 * 4 * 2;  // mul + add: 2 FLOPs per lane
  if (__builtin_cpu_supports("avx512f")) {
    fn_ = Avx512Chains;
    flops_per_iter_ = 12 * 16 * 2;
  } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    fn_ = Avx2Chains;
    flops_per_iter_ = 12 * 8 * 2;
  }
  // Calibrate the iteration count on one thread.
  long iters = 1 << 16;
  for (;;) {
    auto a = std::chrono::steady_clock::now();
    volatile double sink = fn_(iters);
    (void)sink;
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count();
    if (s > 0.02 || iters > (1L << 40)) {
      iters_ = std::max(1L, static_cast<long>(double(iters) * seconds / std::max(s, 1e-6)));
      break;
    }
    iters *= 4;
  }
}

double Fp32PeakLoop::Run() const {
  std::atomic<double> sink{0};
  auto a = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads_; ++t) pool.emplace_back([&] { sink = sink + fn_(iters_); });
  for (auto& th : pool) th.join();
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count();
  return Flops() / s / 1e9;
}

}  // namespace opal
