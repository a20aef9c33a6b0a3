#include <algorithm>
#include <tuple>

#include "store/store_util.h"

namespace opal::store {

Record MergeMeasurements(std::vector<Record> same_config) {
  std::sort(same_config.begin(), same_config.end(), [](const Record& a, const Record& b) {
    return std::tie(a.timestamp_us, a.uid) < std::tie(b.timestamp_us, b.uid);
  });
  Record merged = same_config.front();
  // The workload's FLOPs, from any member's GFLOP/s and median.
  double flops = 0;
  for (const Record& r : same_config)
    if (flops == 0 && r.gflops > 0 && r.median_s > 0) flops = r.gflops * r.median_s * 1e9;
  merged.times_s.clear();
  for (const Record& r : same_config)
    merged.times_s.insert(merged.times_s.end(), r.times_s.begin(), r.times_s.end());
  merged.Finalize(flops);
  return merged;
}

}  // namespace opal::store
