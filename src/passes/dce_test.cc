#include <gtest/gtest.h>

#include "passes/passes.h"
#include "passes/passes_test_util.h"

namespace opal::passes {
namespace {

using opal::testing::AttrTensor;
using opal::testing::F32;
using opal::testing::I64;
using opal::testing::kF32;
using opal::testing::ModelBuilder;
using testing::CountOps;
using testing::ExpectWellFormed;

TEST(EliminateDeadCode, DropsFoldedAndUnusedNodesKeepsInterface) {
  ModelBuilder b;
  b.Input("x", kF32, {2, 6});
  b.Input("unused_input", kF32, {3});
  AttrTensor(b.Node("Constant", {}, {"c"}), "value", I64({3, 4}, {2}));
  b.Init("one", I64({0, 0}, {2}));
  b.Node("Add", {"c", "one"}, {"shape"});  // folded at import, node kept
  b.Node("Reshape", {"x", "shape"}, {"y"});
  b.Node("Relu", {"x"}, {"dead1"});  // nobody reads dead1 / dead2
  b.Node("Relu", {"dead1"}, {"dead2"});
  AttrTensor(b.Node("Constant", {}, {"k"}), "value", F32({7}, {1}));
  b.Output("y").Output("k");  // a constant graph output
  auto imported = b.Import();
  OPAL_ASSERT_OK(imported);
  Graph g = std::move(imported).value();
  ASSERT_EQ(g.num_nodes(), 6u);
  ASSERT_TRUE(g.value(*g.FindValue("shape")).constant) << "import should fold 'shape'";
  const size_t values_before = g.num_values();

  auto stats = EliminateDeadCode(g);
  OPAL_ASSERT_OK(stats);
  EXPECT_EQ(stats->changed, 5);
  ASSERT_EQ(g.num_nodes(), 1u);
  EXPECT_EQ(g.node(0).op_type, "Reshape");
  EXPECT_EQ(g.value(g.node(0).inputs[1]).name, "shape");
  EXPECT_EQ(g.value(g.node(0).inputs[1]).producer, -1);
  // c, one, dead1, dead2 are gone; x, unused_input, shape, y, k stay.
  EXPECT_EQ(g.num_values(), values_before - 4);
  EXPECT_FALSE(g.FindValue("dead1").has_value());
  EXPECT_FALSE(g.FindValue("c").has_value());
  ASSERT_EQ(g.inputs().size(), 2u);
  EXPECT_EQ(g.value(g.inputs()[1]).name, "unused_input");
  ASSERT_EQ(g.outputs().size(), 2u);
  EXPECT_EQ(g.value(g.outputs()[0]).name, "y");
  EXPECT_EQ(ShapeToString(g.value(g.outputs()[0]).shape), "3x4");
  EXPECT_EQ(g.value(g.outputs()[1]).name, "k");
  ASSERT_TRUE(g.value(g.outputs()[1]).constant);
  EXPECT_EQ(g.value(g.outputs()[1]).constant->GetDouble(0), 7.0);
  ExpectWellFormed(g);
}

TEST(EliminateDeadCode, KeepsNodesSomeoneReads) {
  ModelBuilder b;
  b.Input("x", kF32, {4});
  b.Node("Relu", {"x"}, {"a"});
  b.Node("Relu", {"a"}, {"y"});
  b.Output("y");
  auto g = b.Import();
  OPAL_ASSERT_OK(g);
  auto stats = EliminateDeadCode(*g);
  OPAL_ASSERT_OK(stats);
  EXPECT_EQ(stats->changed, 0);
  EXPECT_EQ(CountOps(*g, "Relu"), 2);
  EXPECT_EQ(g->num_values(), 3u);
}

}  // namespace
}  // namespace opal::passes
