// Latency summary of repeated runs (`opal run --bench`).
#pragma once

#include <vector>

namespace opal::runtime {

struct LatencyStats {
  int runs = 0;
  double min_ms = 0, p50_ms = 0, p90_ms = 0, p99_ms = 0, mean_ms = 0, max_ms = 0;
};

// Nearest-rank percentiles (p-th: the ceil(p/100 * N)-th smallest). Empty input: all zero.
LatencyStats SummarizeLatencies(std::vector<double> ms);

}  // namespace opal::runtime
