// Deterministic robustness sweep of the importer (the fast-tier companion of fuzz/): every prefix
// truncation at a set of cut points and seeded byte flips of real models must give a Graph or an
// error Status -- never a crash, an abort or an exception escaping. Runs under ASan in the fuzz build.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "opal/log.h"
#include "opal/onnx_import.h"
#include "opal/tasks.h"

namespace opal {
namespace {

namespace fs = std::filesystem;

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A few node-test models of the tunable and structural families plus a small shared model.
std::vector<fs::path> Seeds() {
  std::vector<fs::path> out;
  const fs::path node = "/usr/share/libonnx-testdata/data/node";
  for (const char* name : {"test_conv_with_strides_padding", "test_gemm_all_attributes", "test_matmul_3d",
                           "test_relu", "test_softmax_axis_0", "test_transpose_default", "test_maxpool_2d_pads",
                           "test_split_equal_parts_1d", "test_concat_2d_axis_0"}) {
    fs::path p = node / name / "model.onnx";
    if (fs::exists(p)) out.push_back(p);
  }
  fs::path gpt = fs::path(OPAL_SOURCE_DIR) / "../shared/models/gpt_tiny/model.onnx";
  if (fs::exists(gpt) && fs::file_size(gpt) < (4u << 20)) out.push_back(gpt);
  return out;
}

// Imports bytes and, on success, extracts tasks; returns whether the import succeeded.
bool ImportQuietly(const std::string& bytes) {
  ImportOptions options;
  options.fold_limit_elements = 1 << 16;
  auto g = ImportOnnxBytes(bytes, options, "/nonexistent", "mutant");
  if (!g.ok()) {
    EXPECT_FALSE(g.status().message().empty());
    return false;
  }
  (void)ExtractTasks(*g).ToJson().dump();
  return true;
}

TEST(ImportRobustness, TruncationsAndByteFlipsNeverCrash) {
  log::SetLevel(log::Level::kOff);
  std::vector<fs::path> seeds = Seeds();
  ASSERT_FALSE(seeds.empty()) << "no seed models (libonnx-testdata absent: apt install libonnx-testdata)";
  std::mt19937_64 rng(20261123);
  int tried = 0, rejected = 0;
  for (const auto& path : seeds) {
    SCOPED_TRACE(path.string());
    const std::string original = ReadAll(path);
    ASSERT_TRUE(ImportQuietly(original)) << "the unmutated seed must import";
    // Truncations: 32 cut points spread over the file, plus the first 16 bytes one by one.
    std::vector<size_t> cuts;
    for (size_t i = 0; i < 16 && i < original.size(); ++i) cuts.push_back(i);
    for (int i = 1; i < 32; ++i) cuts.push_back(original.size() * i / 32);
    for (size_t cut : cuts) {
      ++tried;
      rejected += !ImportQuietly(original.substr(0, cut));
    }
    // Byte flips: 48 mutants with 1-4 random bytes replaced by random values.
    std::uniform_int_distribution<size_t> pos(0, original.size() - 1);
    for (int m = 0; m < 48; ++m) {
      std::string mutant = original;
      int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f) mutant[pos(rng)] = static_cast<char>(rng() & 0xff);
      ++tried;
      rejected += !ImportQuietly(mutant);
    }
  }
  std::printf("import robustness: %d mutants, %d rejected with a Status, %d imported\n", tried, rejected,
              tried - rejected);
  EXPECT_GT(rejected, 0) << "truncations to a few bytes must be rejected";
}

}  // namespace
}  // namespace opal
