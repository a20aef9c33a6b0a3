// Target::DetectHost: what this machine is. x86 features come from cpuid, checked against what
// the OS saves on context switch (xgetbv); other architectures read /proc/cpuinfo. Cache sizes
// come from sysfs, the core count from the affinity mask (so `taskset -c 0 opal ...` is a
// different target, as it should be: it measures differently).
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include "opal/target.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace opal {
namespace {

std::string Trim(std::string s) {
  auto sp = [](unsigned char c) { return std::isspace(c); };
  s.erase(s.begin(), std::find_if_not(s.begin(), s.end(), sp));
  s.erase(std::find_if_not(s.rbegin(), s.rend(), sp).base(), s.end());
  // Collapse runs of spaces (brand strings are padded).
  std::string out;
  for (char c : s) {
    if (c == ' ' && !out.empty() && out.back() == ' ') continue;
    out.push_back(c);
  }
  return out;
}

std::string ReadFirstLine(const std::string& path) {
  std::ifstream f(path);
  std::string line;
  std::getline(f, line);
  return Trim(line);
}

// "model name : X" style lookups in /proc/cpuinfo.
std::string CpuinfoField(const std::string& field) {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    if (Trim(line.substr(0, colon)) == field) return Trim(line.substr(colon + 1));
  }
  return "";
}

int64_t ParseSysfsSize(const std::string& s) {
  if (s.empty()) return 0;
  int64_t v = 0;
  size_t i = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) v = v * 10 + (s[i++] - '0');
  if (i < s.size() && (s[i] == 'K' || s[i] == 'k')) v <<= 10;
  if (i < s.size() && s[i] == 'M') v <<= 20;
  if (i < s.size() && s[i] == 'G') v <<= 30;
  return v;
}

void DetectCaches(Target& t) {
  for (int i = 0; i < 8; ++i) {
    std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i) + "/";
    std::string level = ReadFirstLine(dir + "level");
    if (level.empty()) break;
    std::string type = ReadFirstLine(dir + "type");
    int64_t size = ParseSysfsSize(ReadFirstLine(dir + "size"));
    if (level == "1" && type == "Data") t.l1d_bytes = size;
    if (level == "2") t.l2_bytes = size;
    if (level == "3") t.l3_bytes = size;
  }
}

#if defined(__x86_64__) || defined(__i386__)
void DetectX86(Target& t) {
  t.arch = "x86_64";
  unsigned a = 0, b = 0, c = 0, d = 0;
  unsigned max_leaf = __get_cpuid_max(0, nullptr);
  std::vector<std::string>& f = t.features;
  uint64_t xcr0 = 0;
  if (__get_cpuid(1, &a, &b, &c, &d)) {
    if (d & (1u << 26)) f.push_back("sse2");
    if (c & (1u << 19)) f.push_back("sse4_1");
    if (c & (1u << 20)) f.push_back("sse4_2");
    if (c & (1u << 27)) {  // OSXSAVE: xgetbv tells which register files the OS preserves
      unsigned lo, hi;
      __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
      xcr0 = (uint64_t(hi) << 32) | lo;
    }
    bool os_avx = (xcr0 & 0x6) == 0x6;
    if (os_avx && (c & (1u << 28))) f.push_back("avx");
    if (os_avx && (c & (1u << 12))) f.push_back("fma");
    if (os_avx && (c & (1u << 29))) f.push_back("f16c");
  }
  bool os_avx = (xcr0 & 0x6) == 0x6;
  bool os_avx512 = (xcr0 & 0xe6) == 0xe6;
  bool os_amx = (xcr0 & (3ull << 17)) == (3ull << 17);
  if (max_leaf >= 7) {
    __cpuid_count(7, 0, a, b, c, d);
    if (os_avx && (b & (1u << 5))) f.push_back("avx2");
    if (os_avx512) {
      if (b & (1u << 16)) f.push_back("avx512f");
      if (b & (1u << 17)) f.push_back("avx512dq");
      if (b & (1u << 28)) f.push_back("avx512cd");
      if (b & (1u << 30)) f.push_back("avx512bw");
      if (b & (1u << 31)) f.push_back("avx512vl");
      if (c & (1u << 1)) f.push_back("avx512vbmi");
      if (c & (1u << 11)) f.push_back("avx512vnni");
      if (d & (1u << 23)) f.push_back("avx512fp16");
    }
    if (os_amx && (d & (1u << 24))) f.push_back("amx_tile");
    unsigned a1, b1, c1, d1;
    __cpuid_count(7, 1, a1, b1, c1, d1);
    if (os_avx && (a1 & (1u << 4))) f.push_back("avxvnni");
    if (os_avx512 && (a1 & (1u << 5))) f.push_back("avx512bf16");
  }
  char brand[49] = {};
  if (__get_cpuid_max(0x80000000, nullptr) >= 0x80000004) {
    for (unsigned leaf = 0; leaf < 3; ++leaf) {
      __get_cpuid(0x80000002 + leaf, &a, &b, &c, &d);
      std::memcpy(brand + 16 * leaf, &a, 4);
      std::memcpy(brand + 16 * leaf + 4, &b, 4);
      std::memcpy(brand + 16 * leaf + 8, &c, 4);
      std::memcpy(brand + 16 * leaf + 12, &d, 4);
    }
    t.model = Trim(brand);
  }
}
#endif

[[maybe_unused]] void DetectFromCpuinfo(Target& t) {
#if defined(__aarch64__)
  t.arch = "aarch64";
#else
  t.arch = "unknown";
#endif
  std::istringstream feats(CpuinfoField("Features"));
  std::string x;
  while (feats >> x) {
    if (x == "asimd") t.features.push_back("neon");
    if (x == "sve" || x == "sve2" || x == "asimddp" || x == "bf16" || x == "i8mm") t.features.push_back(x);
  }
}

}  // namespace

Target Target::DetectHost() {
  Target t;
  t.kind = "cpu";
#if defined(__x86_64__) || defined(__i386__)
  DetectX86(t);
#else
  DetectFromCpuinfo(t);
#endif
  if (t.model.empty()) t.model = CpuinfoField("model name");
  if (t.model.empty()) t.model = "unknown";
  cpu_set_t set;
  CPU_ZERO(&set);
  t.cores = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set)
                                                          : static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  DetectCaches(t);
  std::sort(t.features.begin(), t.features.end());
  t.features.erase(std::unique(t.features.begin(), t.features.end()), t.features.end());
  return t;
}

}  // namespace opal
