// One kernel of a tunable workload compiled in this process, and the pieces around it that a
// benchmark or tool needs to time it fairly: aligned operand storage and the device lock that
// every opal measurement on this machine takes. The tuner itself measures in sandboxed child
// processes (opal/tuning_framework.h); this in-process path is for peers-in-the-same-process
// benchmarks (bench/kernels) and tools that must not fork.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "opal/status.h"
#include "opal/tuning_framework.h"
#include "opal/tuning_space.h"
#include "opal/workload.h"

namespace opal::tune {

// A compiled kernel. Run reads the operands in the layouts of OperandsOf(w) (inputs must be
// 64-byte aligned) and writes the whole output. Not thread-safe: one caller at a time.
class Kernel {
 public:
  virtual ~Kernel() = default;
  // kFailed with Halide's message when the kernel reports an error (bounds, allocation).
  virtual Status Run(const std::vector<const float*>& inputs, float* output) = 0;
  // Re-lays out the operands the kernel reads in a form of its own (the weights of a conv
  // `chan` config, PackChanWeights), as a framework re-lays out weights once when it loads a
  // model: the caller calls it once, outside any timing, and Run then reads that copy while it
  // is given the same operand pointer (a new pointer is re-laid out again inside Run).
  virtual void Prepare(const std::vector<const float*>& inputs) { (void)inputs; }
};

struct KernelBuildOptions {
  // Test-only: build a kernel that adds 1 to one output element (a wrong result).
  bool inject_wrong_result = false;
};

// Compiles `config` for `w` for the host. kFailed with the compiler's message when Halide
// rejects the schedule; kUnsupported for a workload outside the template.
Result<std::unique_ptr<Kernel>> BuildHalideKernel(const Workload& w, const Config& config,
                                                  const KernelBuildOptions& options = {});

// "14.0.0" and the LLVM version Halide was built against.
std::string HalideVersionString();
std::string HalideLlvmVersionString();

// 64-byte aligned float storage.
class AlignedFloats {
 public:
  explicit AlignedFloats(int64_t n);
  float* data() { return p_.get(); }
  const float* data() const { return p_.get(); }
  int64_t size() const { return n_; }

 private:
  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  std::unique_ptr<float, Free> p_;
  int64_t n_;
};

// Exclusive lock on the measuring device, held until the object is destroyed (or the process
// dies). Blocks while another process holds it, then until no build holds the device's build slot
// (BuildSlot): a kernel timed on all cores while a compiler runs on one of them reads up to 2x
// slower, so timed runs never overlap builds of the same device's tuners.
class DeviceLock {
 public:
  explicit DeviceLock(const std::string& path);
  ~DeviceLock();
  DeviceLock(const DeviceLock&) = delete;
  DeviceLock& operator=(const DeviceLock&) = delete;
  bool held() const { return fd_ >= 0; }

 private:
  int fd_ = -1, builds_fd_ = -1;
};

// A shared hold of the build slot of the device whose DeviceLock is at `device_lock_path`, for
// the time of one candidate's build. Blocks while a DeviceLock is held or awaited (a measurement
// waits for builds in progress, and no new build starts meanwhile), then shares the slot with the
// other builds.
class BuildSlot {
 public:
  explicit BuildSlot(const std::string& device_lock_path);
  ~BuildSlot();
  BuildSlot(const BuildSlot&) = delete;
  BuildSlot& operator=(const BuildSlot&) = delete;
  bool held() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// The build slot's lock file of a device lock path (the path with ".builds" appended).
std::string BuildSlotPath(const std::string& device_lock_path);

// The lock path for `options` and target: options.lock_path, $OPAL_DEVICE_LOCK, or
// /tmp/opal-device-<coarse key>.lock.
std::string DeviceLockPath(const MeasureOptions& options, const Target& target);

}  // namespace opal::tune
