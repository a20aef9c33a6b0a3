// The build passes over the reference models in ../shared/models: per model, nodes before and
// after, what each pass changed and which epilogue steps were fused, and that every graph output
// survives with its name, dtype and shape.
//
// The expected step counts were derived from the ONNX files with the onnx Python package alone
// (Identity resolved; a Conv/Gemm/MatMul output with one reader, not a graph output, followed by
// Relu / Clip / Add / Mul whose other operand is a constant, an input or computed earlier).
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

struct Expected {
  const char* model;
  std::map<std::string, int> steps;  // epilogue step kind -> count
};

const Expected kModels[] = {
    {"resnet18", {{"relu", 17}, {"add", 8}}},
    {"resnet50", {{"relu", 49}, {"add", 16}}},
    {"mobilenet_v2", {{"clip", 35}, {"add", 10}}},
    {"transformer_l2_d256", {{"add", 8}, {"relu", 2}}},
    // The attention scores' Mul by 1/sqrt(d) reads a scalar computed from Shape/Sqrt, which opal
    // folds at import (the Python count does not fold, so it sees a later producer).
    {"gpt_tiny", {{"add", 24}, {"mul", 4}}},
    {"vgg11", {{"relu", 10}}},
};

TEST(SharedModels, BuildPassesFuseEpiloguesAndKeepOutputs) {
  if (!fs::is_directory(kModelsDir)) GTEST_SKIP() << kModelsDir << " is absent (no ../shared)";
  for (const Expected& e : kModels) {
    const std::string path = kModelsDir + "/" + e.model + "/model.onnx";
    if (!fs::exists(path)) continue;
    SCOPED_TRACE(e.model);
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

    std::map<std::string, int> steps;
    for (const Node& n : g.nodes()) {
      if (const Attribute* a = n.attrs.Find("opal_epilogue")) {
        for (const std::string& s : a->strings) ++steps[s.substr(0, s.find(':'))];
      }
    }
    std::string line =
        fmt::format("{:<20} nodes {:>3} -> {:>3} |", e.model, nodes_before, g.num_nodes());
    for (const PassStats& s : *stats) line += fmt::format(" {} {}", s.pass, s.changed);
    line += " | steps";
    for (const auto& [k, v] : steps) line += fmt::format(" {}={}", k, v);
    std::cout << line << "\n";

    EXPECT_EQ(steps, e.steps);
    EXPECT_EQ(testing::CountOps(g, "Identity"), 0);
    // Every fused Relu / Clip node is gone; the ones left are those not after a contraction.
    EXPECT_EQ(testing::CountOps(g, "Relu"), ops_before["Relu"] - steps["relu"]);
    EXPECT_EQ(testing::CountOps(g, "Clip"), ops_before["Clip"] - steps["clip"]);
    EXPECT_EQ(testing::CountOps(g, "Add"), ops_before["Add"] - steps["add"]);
    EXPECT_EQ(testing::CountOps(g, "Mul"), ops_before["Mul"] - steps["mul"]);
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
