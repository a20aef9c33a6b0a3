// Every reference model in ../shared/models imports with no unsupported operator and every value's
// shape known (the transformer needs folding through Shape -> Gather -> Add -> Div -> Mul -> Slice;
// the GPT models need Split with a constant split input and Where).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "opal/onnx_import.h"
#include "testing/shared_models.h"

namespace opal {
namespace {

namespace fs = std::filesystem;

const std::string kModelsDir = testing::SharedModelsDir();

std::vector<std::string> ModelNames() { return testing::SharedModelNames(); }

TEST(SharedModels, AllImportWithEveryShapeKnown) {
  ASSERT_TRUE(fs::is_directory(kModelsDir)) << kModelsDir << " is absent: the shared models are part of the test data";
  std::vector<std::string> names = ModelNames();
  EXPECT_GE(names.size(), 7u) << "expected the 7 reference models in " << kModelsDir;
  for (const auto& name : names) {
    SCOPED_TRACE(name);
    auto g = ImportOnnxFile(kModelsDir + "/" + name + "/model.onnx");
    ASSERT_TRUE(g.ok()) << g.status().message();
    EXPECT_TRUE(g->UnsupportedOps().empty())
        << "unsupported: " << g->UnsupportedOps().begin()->first;
    int unknown = 0;
    for (const auto& v : g->values()) {
      if (v.shape_known) continue;
      if (++unknown <= 3)
        ADD_FAILURE() << "value '" << v.name << "' has no shape: " << v.unknown_reason;
    }
    EXPECT_EQ(unknown, 0);
    for (ValueId o : g->outputs()) EXPECT_TRUE(g->value(o).shape_known);
  }
}

// The two models with weights and PyTorch's outputs: the inferred output shape matches.
TEST(SharedModels, OutputShapesMatchReferenceData) {
  ASSERT_TRUE(fs::is_directory(kModelsDir)) << kModelsDir << " is absent: the shared models are part of the test data";
  for (const auto& name : ModelNames()) {
    fs::path out = fs::path(kModelsDir) / name / "test_data_set_0" / "output_0.pb";
    if (!fs::exists(out)) continue;
    SCOPED_TRACE(name);
    auto g = ImportOnnxFile(kModelsDir + "/" + name + "/model.onnx");
    ASSERT_TRUE(g.ok()) << g.status().message();
    auto want = LoadTensorProtoFile(out.string());
    ASSERT_TRUE(want.ok()) << want.status().message();
    const Value& v = g->value(g->outputs().at(0));
    EXPECT_EQ(v.dtype, want->dtype());
    EXPECT_EQ(ShapeToString(v.shape), ShapeToString(want->shape()));
  }
}

}  // namespace
}  // namespace opal
