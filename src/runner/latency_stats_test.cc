#include "opal/latency_stats.h"

#include <gtest/gtest.h>

namespace opal::runtime {
namespace {

TEST(LatencyStatsTest, NearestRankPercentiles) {
  // 1..100 shuffled: the p-th percentile by nearest rank is p itself.
  std::vector<double> ms;
  for (int i = 0; i < 100; ++i) ms.push_back(static_cast<double>((i * 37) % 100 + 1));
  LatencyStats s = SummarizeLatencies(ms);
  EXPECT_EQ(s.runs, 100);
  EXPECT_EQ(s.min_ms, 1);
  EXPECT_EQ(s.p50_ms, 50);
  EXPECT_EQ(s.p90_ms, 90);
  EXPECT_EQ(s.p99_ms, 99);
  EXPECT_EQ(s.max_ms, 100);
  EXPECT_DOUBLE_EQ(s.mean_ms, 50.5);
}

TEST(LatencyStatsTest, FewRuns) {
  LatencyStats s = SummarizeLatencies({4, 2, 3, 1, 5});  // ranks: p50 -> 3rd, p90/p99 -> 5th
  EXPECT_EQ(s.p50_ms, 3);
  EXPECT_EQ(s.p90_ms, 5);
  EXPECT_EQ(s.p99_ms, 5);
  s = SummarizeLatencies({7});
  EXPECT_EQ(s.min_ms, 7);
  EXPECT_EQ(s.p99_ms, 7);
  EXPECT_EQ(SummarizeLatencies({}).runs, 0);
}

}  // namespace
}  // namespace opal::runtime
