#include "builder/memory_plan.h"

#include <gtest/gtest.h>

#include <climits>
#include <random>

namespace opal::build {
namespace {

bool Overlap(const Lifetime& a, int64_t oa, const Lifetime& b, int64_t ob) {
  const bool live = a.first <= b.last && b.first <= a.last;
  const bool addr = oa < ob + b.bytes && ob < oa + a.bytes;
  return live && addr;
}

TEST(MemoryPlan, ChainReusesBytes) {
  // a -> b -> c -> d: a and c can share, b and d can share.
  std::vector<Lifetime> t = {{1000, -1, 0}, {1000, 0, 1}, {1000, 1, 2}, {1000, 2, INT_MAX}};
  MemoryPlan p = PlanMemory(t);
  EXPECT_EQ(p.arena_bytes, 2 * 1024);
  EXPECT_EQ(p.naive_bytes, 4 * 1024);
  for (int64_t o : p.offsets) EXPECT_EQ(o % 64, 0);
}

TEST(MemoryPlan, RandomGraphsNeverOverlapLiveTensors) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<Lifetime> t;
    const int n = 1 + static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) {
      int first = static_cast<int>(rng() % 30) - 1;
      int last = first + static_cast<int>(rng() % 10);
      t.push_back({1 + static_cast<int64_t>(rng() % 5000), first, last});
    }
    MemoryPlan p = PlanMemory(t);
    for (int i = 0; i < n; ++i) {
      EXPECT_LE(p.offsets[i] + t[i].bytes, p.arena_bytes);
      for (int j = i + 1; j < n; ++j)
        ASSERT_FALSE(Overlap(t[i], p.offsets[i], t[j], p.offsets[j])) << trial << " " << i << " " << j;
    }
    EXPECT_LE(p.arena_bytes, p.naive_bytes);
  }
}

}  // namespace
}  // namespace opal::build
