// DIR/weights.bin of a built model: mapped read-only (page-aligned, hence 64-byte aligned) and
// checked against the size and FNV-1a-64 hash that the library's program expects, so that a
// library and a weights file from different builds are never mixed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "runtime/rt_status.h"

namespace opal_rt {

// FNV-1a 64 of `size` bytes (offset basis 0xcbf29ce484222325, prime 0x100000001b3).
uint64_t Fnv1a64(const void* data, size_t size);

// Owns the mapping; move-only.
class WeightsFile {
 public:
  WeightsFile() = default;
  WeightsFile(const WeightsFile&) = delete;
  WeightsFile& operator=(const WeightsFile&) = delete;
  ~WeightsFile();

  // Maps DIR/weights.bin. Errors (OPAL_ERR_IO): missing or unreadable file, a size other than
  // `expected_bytes`, a hash other than `expected_hash`. An empty file maps to an aligned dummy.
  RtStatus Open(const std::string& dir, int64_t expected_bytes, uint64_t expected_hash);

  // 64-byte-aligned start of the weights (never null once opened).
  const uint8_t* data() const { return data_; }
  int64_t size() const { return size_; }

 private:
  void* map_ = nullptr;  // the mmap'ed region (null when empty)
  const uint8_t* data_ = nullptr;
  int64_t size_ = 0;
};

}  // namespace opal_rt
