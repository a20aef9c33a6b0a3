#include "runtime/weights_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace opal_rt {

uint64_t Fnv1a64(const void* data, size_t size) {
  const auto* p = static_cast<const uint8_t*>(data);
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < size; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

WeightsFile::~WeightsFile() {
  if (map_) munmap(map_, static_cast<size_t>(size_));
}

RtStatus WeightsFile::Open(const std::string& dir, int64_t expected_bytes, uint64_t expected_hash) {
  const std::string path = dir + "/weights.bin";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return RtError(OPAL_ERR_IO,
                   "cannot open weights.bin in %s: %s; give the folder that `opal build` wrote",
                   dir.c_str(), std::strerror(errno));
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return RtError(OPAL_ERR_IO, "weights.bin in %s is not a regular file", dir.c_str());
  }
  if (static_cast<int64_t>(st.st_size) != expected_bytes) {
    ::close(fd);
    return RtError(OPAL_ERR_IO,
                   "weights.bin in %s has %lld bytes, the library expects %lld: the library and "
                   "the weights come from different builds",
                   dir.c_str(), static_cast<long long>(st.st_size),
                   static_cast<long long>(expected_bytes));
  }
  alignas(64) static const uint8_t kEmpty[64] = {};
  if (expected_bytes == 0) {
    ::close(fd);
    data_ = kEmpty;
    size_ = 0;
  } else {
    void* m = mmap(nullptr, static_cast<size_t>(expected_bytes), PROT_READ, MAP_PRIVATE, fd, 0);
    int err = errno;
    ::close(fd);
    if (m == MAP_FAILED) {
      return RtError(OPAL_ERR_IO, "cannot map weights.bin in %s (%lld bytes): %s", dir.c_str(),
                     static_cast<long long>(expected_bytes), std::strerror(err));
    }
    madvise(m, static_cast<size_t>(expected_bytes), MADV_WILLNEED);
    map_ = m;
    data_ = static_cast<const uint8_t*>(m);
    size_ = expected_bytes;
  }
  const uint64_t h = Fnv1a64(data_, static_cast<size_t>(size_));
  if (h != expected_hash) {
    return RtError(OPAL_ERR_IO,
                   "weights.bin in %s does not match the library (FNV-1a 0x%016llx, expected "
                   "0x%016llx): the library and the weights come from different builds",
                   dir.c_str(), static_cast<unsigned long long>(h),
                   static_cast<unsigned long long>(expected_hash));
  }
  return RtOk();
}

}  // namespace opal_rt
