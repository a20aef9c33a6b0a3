// The build passes over the reference models in ../shared/models: per model, nodes before and
// after and what each pass changed; no Identity and no node computing only constants is left, and
// every graph output survives with its name, dtype and shape. (Which nodes then share a kernel is
// the lowering's decision: lower/kernel_groups_test.cc.)
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>

#include "opal/onnx_import.h"
#include "passes/passes.h"
#include "passes/passes_test_util.h"
#include "testing/shared_models.h"

namespace opal::passes {
namespace {

namespace fs = std::filesystem;

const std::string kModelsDir = opal::testing::SharedModelsDir();

const char* const kModels[] = {"resnet18", "resnet50", "mobilenet_v2", "transformer_l2_d256", "gpt_tiny", "vgg11"};

TEST(SharedModels, BuildPassesKeepOutputs) {
  ASSERT_TRUE(fs::is_directory(kModelsDir)) << kModelsDir << " is absent: the shared models are part of the test data";
  for (const char* model : kModels) {
    const std::string path = kModelsDir + "/" + model + "/model.onnx";
    ASSERT_TRUE(fs::exists(path)) << path;
    SCOPED_TRACE(model);
    auto imported = ImportOnnxFile(path);
    ASSERT_TRUE(imported.ok()) << imported.status().message();
    Graph g = std::move(imported).value();
    const size_t nodes_before = g.num_nodes();
    std::map<std::string, int> ops_before;
    for (const Node& n : g.nodes()) {  // nodes DCE keeps: not computing only constants
      bool all_constant = true;
      for (ValueId o : n.outputs) all_constant &= o == kNoValue || bool(g.value(o).constant);
      if (!all_constant) ++ops_before[n.op_type];
    }
    std::vector<Value> outputs_before;
    for (ValueId o : g.outputs()) outputs_before.push_back(g.value(o));

    auto stats = RunBuildPasses(g);
    ASSERT_TRUE(stats.ok()) << stats.status().message();

    std::string line = fmt::format("{:<20} nodes {:>3} -> {:>3} |", model, nodes_before, g.num_nodes());
    for (const PassStats& s : *stats) line += fmt::format(" {} {}", s.pass, s.changed);
    std::cout << line << "\n";
    EXPECT_EQ(testing::CountOps(g, "Identity"), 0);
    EXPECT_EQ(testing::CountOps(g, "BatchNormalization"), 0);
    EXPECT_LE(testing::CountOps(g, "Relu"), ops_before["Relu"]);
    for (const Node& n : g.nodes()) {
      bool all_constant = true;
      for (ValueId o : n.outputs) all_constant &= o == kNoValue || bool(g.value(o).constant);
      EXPECT_FALSE(all_constant) << n.Describe() << " computes only constants";
    }
    ASSERT_EQ(g.outputs().size(), outputs_before.size());
    for (size_t i = 0; i < outputs_before.size(); ++i) {
      const Value& now = g.value(g.outputs()[i]);
      EXPECT_EQ(now.name, outputs_before[i].name);
      EXPECT_EQ(now.dtype, outputs_before[i].dtype);
      EXPECT_EQ(ShapeToString(now.shape), ShapeToString(outputs_before[i].shape));
      EXPECT_TRUE(now.is_graph_output);
      EXPECT_TRUE(now.producer >= 0 || now.constant) << now.name << " has no producer";
    }
    testing::ExpectWellFormed(g);
  }
}

}  // namespace
}  // namespace opal::passes
