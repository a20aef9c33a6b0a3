// Static memory plan of a built model: every arena tensor gets a byte offset in one block so that
// tensors alive at the same step never overlap, and tensors with disjoint lifetimes reuse bytes.
#pragma once

#include <cstdint>
#include <vector>

namespace opal::build {

struct Lifetime {
  int64_t bytes = 0;
  int first = 0;  // step that writes it (-1: before the first step, e.g. a graph input)
  int last = 0;   // last step that reads it (INT32_MAX: alive to the end, e.g. a graph output)
};

struct MemoryPlan {
  std::vector<int64_t> offsets;  // per tensor, multiples of `alignment`
  int64_t arena_bytes = 0;       // size of the block
  int64_t naive_bytes = 0;       // sum of all sizes (what no reuse would need)
};

// Greedy placement, largest tensors first, each at the lowest aligned offset that does not
// overlap a tensor whose lifetime (inclusive [first, last]) intersects its own. Deterministic.
MemoryPlan PlanMemory(const std::vector<Lifetime>& tensors, int64_t alignment = 64);

}  // namespace opal::build
