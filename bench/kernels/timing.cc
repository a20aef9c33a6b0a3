#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <vector>

#include "baselines.h"
#include "opal/contraction.h"

namespace opal::bench {

std::vector<tune::AlignedFloats> RandomInputs(const Workload& w, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-1, 1);
  std::vector<tune::AlignedFloats> in;
  for (const auto& shape : tune::OperandsOf(w).inputs) {
    in.emplace_back(tune::NumElements(shape));
    for (int64_t i = 0; i < in.back().size(); ++i) in.back().data()[i] = d(rng);
  }
  return in;
}

double TimeMedian(const std::function<void()>& fn, int repeats, double min_repeat_s) {
  using Clock = std::chrono::steady_clock;
  fn();
  auto a = Clock::now();
  fn();
  double once = std::chrono::duration<double>(Clock::now() - a).count();
  int calls = std::max(1, static_cast<int>(std::ceil(min_repeat_s / std::max(once, 1e-7))));
  std::vector<double> t;
  for (int r = 0; r < std::max(1, repeats); ++r) {
    a = Clock::now();
    for (int c = 0; c < calls; ++c) fn();
    t.push_back(std::chrono::duration<double>(Clock::now() - a).count() / calls);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

std::vector<std::vector<double>> TimeAlternating(const std::vector<PeerKernel*>& kernels, int rounds, int repeats,
                                                 double min_repeat_s) {
  std::vector<std::vector<double>> t(kernels.size());
  for (int r = 0; r < std::max(1, rounds); ++r)
    for (size_t k = 0; k < kernels.size(); ++k)
      if (kernels[k]) t[k].push_back(TimeMedian([&] { kernels[k]->Run(); }, repeats, min_repeat_s));
  return t;
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace opal::bench
