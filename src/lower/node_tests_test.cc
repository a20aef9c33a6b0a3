// The ONNX backend node tests (Debian's libonnx-testdata) evaluated node by node with the Halide
// lowerings (EvaluateGraphJit) and compared with the expected outputs of test_data_set_0.
// A test whose import fails or that has a node the lowering reports kUnsupported is tried again
// with its small inputs (scales, sizes, axes: constants in real models) bound at import; if that
// is unsupported too it is counted as unsupported. A wrong result or any other error is a failure.
//
// OPAL_NODE_TEST_FILTER=substring runs only the matching tests; OPAL_NODE_TEST_VERBOSE=1 prints
// why each unsupported test is unsupported.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "lower/jit_eval.h"
#include "lower/tensor_compare.h"
#include "opal/onnx_import.h"

namespace opal::lower {
namespace {

namespace fs = std::filesystem;

const char* kNodeDir = "/usr/share/libonnx-testdata/data/node";

// Tests whose expected data opal cannot reproduce for reasons outside the lowering.
const std::map<std::string, std::string>& Exclusions() {
  static const std::map<std::string, std::string> m = {};
  return m;
}

// input_N.pb / output_N.pb of a data set, in N order.
Result<std::vector<Tensor>> LoadSet(const fs::path& dir, const std::string& prefix) {
  std::vector<Tensor> out;
  for (int i = 0;; ++i) {
    const fs::path p = dir / (prefix + std::to_string(i) + ".pb");
    if (!fs::exists(p)) break;
    OPAL_ASSIGN_OR_RETURN(Tensor t, LoadTensorProtoFile(p.string()));
    out.push_back(std::move(t));
  }
  return out;
}

enum class Outcome { kPassed, kFailed, kUnsupported };

// Runs one test. With `bind_parameters`, every graph input after the first that holds at most
// 64 elements (scales, sizes, axes, starts: what a model carries as constants and some lowerings
// need at build time) is bound to its test value at import instead of fed at run time.
Outcome RunOne(const fs::path& dir, bool bind_parameters, std::string* why) {
  auto inputs = LoadSet(dir / "test_data_set_0", "input_");
  auto expected = LoadSet(dir / "test_data_set_0", "output_");
  if (!inputs.ok() || !expected.ok()) {
    *why = "test data: " + (inputs.ok() ? expected.status() : inputs.status()).message();
    return Outcome::kUnsupported;
  }
  ImportOptions options;
  if (bind_parameters) {
    for (size_t i = 0; i < inputs->size(); ++i) {
      std::string name;  // the graph input's name, as the data file records it
      const fs::path file = dir / "test_data_set_0" / ("input_" + std::to_string(i) + ".pb");
      if (i > 0 && (*inputs)[i].size() <= 64 && LoadTensorProtoFile(file.string(), &name).ok() && !name.empty())
        options.input_values[name] = (*inputs)[i];  // still a graph input, fed the same value
    }
    if (options.input_values.empty()) {
      *why = "no parameter input to bind";
      return Outcome::kUnsupported;
    }
  }
  Result<Graph> g = ImportOnnxFile((dir / "model.onnx").string(), options);
  if (!g.ok()) {
    *why = "import: " + g.status().message();
    return Outcome::kUnsupported;
  }
  for (const auto* list : {&g->inputs(), &g->outputs()}) {
    for (ValueId id : *list) {
      if (!HalideTypeOf(g->value(id).dtype).ok()) {
        *why = fmt::format("'{}' has type {}", g->value(id).name, DTypeName(g->value(id).dtype));
        return Outcome::kUnsupported;
      }
    }
  }
  if (inputs->size() != g->inputs().size()) {
    *why = fmt::format("test data has {} inputs, the graph {}", inputs->size(), g->inputs().size());
    return Outcome::kUnsupported;
  }
  LowerOptions o;
  Result<std::vector<Tensor>> got = EvaluateGraphJit(*g, *inputs, o);
  if (!got.ok()) {
    *why = got.status().message();
    return got.status().code() == ErrorCode::kUnsupported ? Outcome::kUnsupported
                                                          : Outcome::kFailed;
  }
  if (got->size() != expected->size()) {
    *why = fmt::format("{} outputs, expected {}", got->size(), expected->size());
    return Outcome::kFailed;
  }
  for (size_t i = 0; i < got->size(); ++i) {
    std::string diff = CompareTensors((*got)[i], (*expected)[i], 1e-4, 1e-4);
    if (!diff.empty()) {
      *why = fmt::format("output {}: {}", i, diff);
      return Outcome::kFailed;
    }
  }
  return Outcome::kPassed;
}

TEST(OnnxNodeTests, LoweredKernelsMatchExpectedOutputs) {
  ASSERT_TRUE(fs::exists(kNodeDir)) << kNodeDir << " is missing (apt install libonnx-testdata)";
  const char* filter = std::getenv("OPAL_NODE_TEST_FILTER");
  const bool verbose = std::getenv("OPAL_NODE_TEST_VERBOSE") != nullptr;
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(kNodeDir)) {
    if (!e.is_directory()) continue;
    if (filter && e.path().filename().string().find(filter) == std::string::npos) continue;
    dirs.push_back(e.path());
  }
  std::sort(dirs.begin(), dirs.end());
  const auto start = std::chrono::steady_clock::now();
  int tried = 0, passed = 0, excluded = 0, bound_passed = 0;
  std::vector<std::string> failed, unsupported;
  std::vector<std::pair<double, std::string>> slowest;
  for (const fs::path& dir : dirs) {
    const std::string name = dir.filename().string();
    if (Exclusions().count(name)) {
      ++excluded;
      continue;
    }
    ++tried;
    if (verbose) std::fprintf(stderr, "running %s\n", name.c_str());
    std::string why;
    const auto t0 = std::chrono::steady_clock::now();
    Outcome outcome = RunOne(dir, false, &why);
    if (outcome == Outcome::kUnsupported) {  // again with its small inputs as constants
      std::string bound_why;
      const Outcome bound = RunOne(dir, true, &bound_why);
      if (bound != Outcome::kUnsupported) {
        outcome = bound;
        why = bound_why;
        bound_passed += bound == Outcome::kPassed;
      } else if (bound_why != "no parameter input to bind") {
        why += "; with small inputs bound: " + bound_why;
      }
    }
    slowest.emplace_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), name);
    switch (outcome) {
      case Outcome::kPassed:
        ++passed;
        break;
      case Outcome::kFailed:
        failed.push_back(name + ": " + why);
        break;
      case Outcome::kUnsupported:
        unsupported.push_back(name + ": " + why);
        if (verbose) std::printf("unsupported %s: %s\n", name.c_str(), why.c_str());
        break;
    }
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "node tests: tried %d, passed %d, failed %zu, unsupported %zu (excluded %d, %.0f s); %d ran with "
      "their small inputs bound as constants\n", tried, passed, failed.size(), unsupported.size(), excluded,
      secs, bound_passed);
  std::sort(slowest.rbegin(), slowest.rend());
  std::printf("slowest:");
  for (size_t i = 0; i < slowest.size() && i < 5; ++i) {
    std::printf(" %s %.1fs", slowest[i].second.c_str(), slowest[i].first);
  }
  std::printf("\n");
  for (const auto& f : failed) std::printf("FAILED %s\n", f.c_str());
  EXPECT_TRUE(failed.empty()) << failed.size() << " node tests failed";
}

}  // namespace
}  // namespace opal::lower
