#include "tune/halide_target.h"

#include <cstdlib>
#include <fstream>
#include <string>

namespace opal::tune {
namespace {

bool CpuHasFlag(const std::string& flag) {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("flags", 0) != 0) continue;
    return (line + " ").find(" " + flag + " ") != std::string::npos;
  }
  return false;
}

Halide::Target Detect() {
  if (const char* env = std::getenv("HL_JIT_TARGET"); env && *env) return Halide::get_jit_target_from_environment();
  Halide::Target t = Halide::get_host_target();
  if (t.has_feature(Halide::Target::AVX512_SapphireRapids) && !CpuHasFlag("avx512_fp16"))
    t = t.without_feature(Halide::Target::AVX512_SapphireRapids);
  return t;
}

}  // namespace

const Halide::Target& HostHalideTarget() {
  static const Halide::Target t = Detect();
  return t;
}

}  // namespace opal::tune
