#include "builder/memory_plan.h"

#include <algorithm>
#include <numeric>

namespace opal::build {

MemoryPlan PlanMemory(const std::vector<Lifetime>& tensors, int64_t alignment) {
  MemoryPlan plan;
  plan.offsets.assign(tensors.size(), 0);
  std::vector<size_t> order(tensors.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return tensors[a].bytes > tensors[b].bytes; });
  auto round_up = [&](int64_t v) { return (v + alignment - 1) / alignment * alignment; };
  std::vector<size_t> placed;
  for (size_t i : order) {
    const Lifetime& t = tensors[i];
    plan.naive_bytes += round_up(t.bytes);
    // Address ranges of placed tensors alive at the same time, by start.
    std::vector<std::pair<int64_t, int64_t>> busy;
    for (size_t j : placed) {
      const Lifetime& u = tensors[j];
      if (u.first <= t.last && t.first <= u.last)
        busy.push_back({plan.offsets[j], plan.offsets[j] + round_up(u.bytes)});
    }
    std::sort(busy.begin(), busy.end());
    int64_t offset = 0;
    for (const auto& [lo, hi] : busy) {
      if (offset + round_up(t.bytes) <= lo) break;  // fits in the gap before this range
      offset = std::max(offset, hi);
    }
    plan.offsets[i] = offset;
    plan.arena_bytes = std::max(plan.arena_bytes, offset + round_up(t.bytes));
    placed.push_back(i);
  }
  return plan;
}

}  // namespace opal::build
