#include "store/record_rows.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

namespace opal::store {
namespace {

TEST(RecordRows, TimesRoundTripBitExact) {
  std::mt19937_64 rng(3);
  for (int i = 0; i < 2000; ++i) {
    std::vector<double> times;
    for (size_t n = rng() % 7; n > 0; --n) {
      double d;
      uint64_t bits = rng();
      std::memcpy(&d, &bits, sizeof d);
      if (!std::isfinite(d)) d = 1e-3;
      if (rng() % 3 == 0) d = static_cast<double>(rng() % 1000) * 1e-6;
      times.push_back(d);
    }
    auto back = TimesFromText(TimesToText(times));
    ASSERT_TRUE(back.ok()) << TimesToText(times) << ": " << back.status().message();
    ASSERT_EQ(back->size(), times.size());
    for (size_t k = 0; k < times.size(); ++k)
      ASSERT_EQ(std::memcmp(&(*back)[k], &times[k], sizeof(double)), 0) << TimesToText(times);
  }
}

TEST(RecordRows, MalformedTimesAreRefused) {
  for (const char* bad : {"", "[", "]", "[1,]", "[,1]", "[nan]", "[inf]", "[null]", "[1]x", "[1 ,2]", "[0x10]",
                          "{}", "[\"1\"]"}) {
    EXPECT_FALSE(TimesFromText(bad).ok()) << bad;
  }
  EXPECT_TRUE(TimesFromText("[]").ok());
  EXPECT_EQ(*TimesFromText("[1e-05,2.5,-0.0]"), (std::vector<double>{1e-05, 2.5, -0.0}));
}

}  // namespace
}  // namespace opal::store
