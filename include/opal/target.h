// The device a measurement is valid for.
//
// A Target is plain data. Its canonical string is the one text form, and it parses back:
//   cpu arch=x86_64 cores=2 features=avx,avx2,avx512f,fma l1d=48K l2=1M l3=32M model="AMD EPYC 9B45"
//   cuda arch=sm_90 cores=132 mem=80G model="NVIDIA H100 80GB HBM3"
// Keys are sorted and fields left empty are omitted. Two keys index the tuning records:
//   exact key   kind-arch-family-HASH  (HASH: first 12 hex of SHA-256 of the canonical string):
//               every field matters, a record is valid as measured only for this key;
//   coarse key  kind-arch-family       (e.g. cpu-x86_64-avx512, cuda-sm_90): a fallback for
//               devices of the same ISA family whose own records are missing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "opal/json.h"
#include "opal/status.h"

namespace opal {

struct Target {
  std::string kind;                   // "cpu", "cuda", "rocm"
  std::string arch;                   // "x86_64", "aarch64", "sm_90", "gfx90a"
  std::string model;                  // marketing name of the device
  std::vector<std::string> features;  // ISA features that matter for codegen, sorted, unique
  int cores = 0;                      // usable cores (CPU: hardware threads we may use; GPU: SMs)
  int64_t l1d_bytes = 0;              // L1 data cache per core
  int64_t l2_bytes = 0;               // L2 per core (CPU) or per device (GPU)
  int64_t l3_bytes = 0;               // last-level cache, total
  int64_t memory_bytes = 0;           // device memory (GPU); 0 for host CPUs

  bool HasFeature(std::string_view f) const;
  // Width of the widest usable vector registers, in bits (512 with AVX-512, 256 with AVX2,
  // 128 with SSE/NEON; 0 when unknown, e.g. for GPUs).
  int VectorBits() const;
  // ISA family used by the coarse key: "avx512", "avx2", "sse4", "neon", "sve", or "" for GPUs
  // (whose arch already names the family).
  std::string IsaFamily() const;

  std::string CanonicalString() const;
  std::string ExactKey() const;
  std::string CoarseKey() const;
  // All fields plus canonical string, keys, family and vector width.
  Json ToJson() const;

  // Parses a canonical (or hand-written) target string, or "host" for DetectHost().
  // Sizes accept K/M/G suffixes (binary). Errors are kInvalidArgument naming the bad part.
  static Result<Target> Parse(std::string_view text);
  // Detects the machine this process runs on (cpuid, /proc, /sys, the affinity mask).
  static Target DetectHost();
};

}  // namespace opal
