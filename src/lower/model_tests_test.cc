// The shared reference models (../shared/models): every node of every model lowers, and the
// models that carry test_data_set_0 (PyTorch's outputs) evaluate node by node with Halide JIT to
// within 1e-4 of the expected outputs (relative to their largest magnitude).
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "lower/jit_eval.h"
#include "lower/lower_generic_matmul.h"
#include "lower/tensor_compare.h"
#include "opal/onnx_import.h"
#include "testing/shared_models.h"

namespace opal::lower {
namespace {

namespace fs = std::filesystem;

const std::string kModelsDir = testing::SharedModelsDir();

std::vector<std::string> ModelNames() { return testing::SharedModelNames(); }

TEST(SharedModels, EveryNodeLowers) {
  ASSERT_TRUE(fs::is_directory(kModelsDir)) << kModelsDir << " is absent: the shared models are part of the test data";
  for (const auto& name : ModelNames()) {
    SCOPED_TRACE(name);
    auto g = ImportOnnxFile(kModelsDir + "/" + name + "/model.onnx");
    ASSERT_TRUE(g.ok()) << g.status().message();
    int kernels = 0;
    for (const Node& n : g->nodes()) {
      bool all_constant = true;
      for (ValueId id : n.outputs) {
        all_constant = all_constant && (id == kNoValue || g->value(id).constant);
      }
      if (all_constant || IsAliasNode(*g, n)) continue;
      auto k = LowerNode(*g, n, LowerOptions{});
      EXPECT_TRUE(k.ok()) << k.status().message();
      ++kernels;
    }
    std::printf("%s: %d kernels lowered\n", name.c_str(), kernels);
  }
}

// Evaluates every model with test data with `lowering` and checks its outputs.
void CheckModelsWithTestData(const NodeLowering& lowering) {
  int checked = 0;
  for (const auto& name : ModelNames()) {
    const fs::path data = fs::path(kModelsDir) / name / "test_data_set_0";
    if (!fs::exists(data / "output_0.pb")) continue;
    SCOPED_TRACE(name);
    const auto start = std::chrono::steady_clock::now();
    auto g = ImportOnnxFile(kModelsDir + "/" + name + "/model.onnx");
    ASSERT_TRUE(g.ok()) << g.status().message();
    std::vector<Tensor> inputs, expected;
    for (size_t i = 0; i < g->inputs().size(); ++i) {
      auto t = LoadTensorProtoFile((data / ("input_" + std::to_string(i) + ".pb")).string());
      ASSERT_TRUE(t.ok()) << t.status().message();
      inputs.push_back(std::move(*t));
    }
    for (size_t i = 0; i < g->outputs().size(); ++i) {
      auto t = LoadTensorProtoFile((data / ("output_" + std::to_string(i) + ".pb")).string());
      ASSERT_TRUE(t.ok()) << t.status().message();
      expected.push_back(std::move(*t));
    }
    JitEvalStats stats;
    auto got = EvaluateGraphJit(*g, inputs, LowerOptions{}, &stats, lowering);
    ASSERT_TRUE(got.ok()) << got.status().message();
    for (size_t i = 0; i < expected.size(); ++i) {
      const double err = MaxRelativeError(got->at(i), expected[i]);
      EXPECT_GE(err, 0) << "output " << i << " has the wrong dtype or shape";
      EXPECT_LE(err, 1e-4) << "output " << i;
      std::printf("%s: output %zu max relative error %.3g (%d kernels, %d aliases, %.1f s)\n",
                  name.c_str(), i, err, stats.kernels, stats.aliases,
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    ++checked;
  }
  EXPECT_GE(checked, 2) << "expected mobilenet_v2 and transformer_l2_d256 to carry test data";
}

TEST(SharedModels, JitOutputsMatchReferenceData) {
  ASSERT_TRUE(fs::is_directory(kModelsDir)) << kModelsDir << " is absent: the shared models are part of the test data";
  CheckModelsWithTestData(nullptr);
}

// The same with the untuned fallback for every Conv / Gemm / MatMul.
TEST(SharedModels, GenericContractionsMatchReferenceData) {
  ASSERT_TRUE(fs::is_directory(kModelsDir)) << kModelsDir << " is absent: the shared models are part of the test data";
  CheckModelsWithTestData([](const Graph& g, const Node& n, const LowerOptions& o) {
    if (n.op_type == "Conv" || n.op_type == "Gemm" || n.op_type == "MatMul") {
      return LowerGenericContractionNode(g, n, o);
    }
    return LowerNode(g, n, o);
  });
}

}  // namespace
}  // namespace opal::lower
