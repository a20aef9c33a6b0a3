// The test model's weights (see test_program.cc) and its reference, written independently of the
// runtime: weights.bin is w (15 float32), 4 zero bytes, k (6 int64), little-endian.
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace opal_rt_test {

inline float WeightW(int i) { return 0.5f * static_cast<float>(i) - 3.0f; }
inline int64_t WeightK(int i) { return 1000000000000LL * (i + 1) - 7; }

inline std::vector<uint8_t> TestWeightsBytes() {
  std::vector<uint8_t> b(112, 0);
  for (int i = 0; i < 15; ++i) {
    float v = WeightW(i);
    std::memcpy(&b[4 * i], &v, 4);
  }
  for (int i = 0; i < 6; ++i) {
    int64_t v = WeightK(i);
    std::memcpy(&b[64 + 8 * i], &v, 8);
  }
  return b;
}

inline void WriteFile(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// y = 2 * (2x + w) + x, computed in float32 in the kernel's order.
inline float ReferenceY(float x, int i) {
  const float t = x * 2.0f + WeightW(i);
  return t * 2.0f + x;
}
inline int64_t ReferenceM(int64_t n, int i) { return n * 3 + WeightK(i); }

}  // namespace opal_rt_test
