#include "opal/latency_stats.h"

#include <algorithm>
#include <numeric>

namespace opal::runtime {

LatencyStats SummarizeLatencies(std::vector<double> ms) {
  LatencyStats s;
  if (ms.empty()) return s;
  std::sort(ms.begin(), ms.end());
  const size_t n = ms.size();
  auto rank = [&](size_t p) {  // ceil(p * n / 100) in integers
    const size_t r = (p * n + 99) / 100;
    return ms[std::clamp<size_t>(r, 1, n) - 1];
  };
  s.runs = static_cast<int>(n);
  s.min_ms = ms.front();
  s.max_ms = ms.back();
  s.p50_ms = rank(50);
  s.p90_ms = rank(90);
  s.p99_ms = rank(99);
  s.mean_ms = std::accumulate(ms.begin(), ms.end(), 0.0) / static_cast<double>(n);
  return s;
}

}  // namespace opal::runtime
