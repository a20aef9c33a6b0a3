#include <gtest/gtest.h>

#include "passes/passes.h"
#include "passes/passes_test_util.h"

namespace opal::passes {
namespace {

using opal::testing::kBool;
using opal::testing::kF32;
using opal::testing::ModelBuilder;
using testing::CountOps;
using testing::EvalGraph;
using testing::ExpectWellFormed;
using testing::MaxRelDiff;
using testing::ProducerOf;
using testing::Random;

Graph Import(const ModelBuilder& b) {
  auto g = b.Import();
  OPAL_CHECK(g.ok(), "{}", g.status().message());
  return std::move(g).value();
}

TEST(RemoveIdentities, ConsumersReadTheInputDirectly) {
  ModelBuilder b;
  b.Input("x", kF32, {2, 3});
  b.Node("Relu", {"x"}, {"r"});
  b.Node("Identity", {"r"}, {"i1"});
  b.Node("Identity", {"i1"}, {"i2"});
  b.Node("Relu", {"i2"}, {"y"});
  b.Output("y");
  Graph g = Import(b);
  Tensor x = Random({2, 3}, 1);
  auto before = EvalGraph(g, {{"x", x}});
  auto stats = RemoveIdentities(g);
  OPAL_ASSERT_OK(stats);
  EXPECT_EQ(stats->changed, 2);
  EXPECT_EQ(g.num_nodes(), 2u);
  EXPECT_EQ(CountOps(g, "Identity"), 0);
  const Node* last = ProducerOf(g, "y");
  ASSERT_NE(last, nullptr);
  EXPECT_EQ(g.value(last->inputs[0]).name, "r");
  ExpectWellFormed(g);
  EXPECT_EQ(MaxRelDiff(EvalGraph(g, {{"x", x}}).at("y"), before.at("y")), 0.0);
}

TEST(RemoveIdentities, GraphOutputKeepsItsName) {
  ModelBuilder b;
  b.Input("x", kF32, {4});
  b.Node("Relu", {"x"}, {"r"});
  b.Node("Identity", {"r"}, {"y"});
  b.Node("Relu", {"r"}, {"z"});  // a second reader of r
  b.Output("y").Output("z");
  Graph g = Import(b);
  OPAL_ASSERT_OK(RemoveIdentities(g));
  EXPECT_EQ(CountOps(g, "Identity"), 0);
  ASSERT_EQ(g.outputs().size(), 2u);
  EXPECT_EQ(g.value(g.outputs()[0]).name, "y");
  const Node* relu = ProducerOf(g, "y");
  ASSERT_NE(relu, nullptr);
  EXPECT_EQ(relu->op_type, "Relu");
  EXPECT_EQ(g.value(ProducerOf(g, "z")->inputs[0]).name, "y");  // z now reads y
  ExpectWellFormed(g);
  Tensor x = Random({4}, 2);
  auto out = EvalGraph(g, {{"x", x}});
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(out.at("y").data<float>()[i], std::max(0.f, x.data<float>()[i]));
}

TEST(RemoveIdentities, IdentityOfAGraphInputThatIsAnOutputStays) {
  ModelBuilder b;
  b.Input("x", kF32, {4});
  b.Node("Identity", {"x"}, {"y"});
  b.Output("y");
  Graph g = Import(b);
  auto stats = RemoveIdentities(g);
  OPAL_ASSERT_OK(stats);
  EXPECT_EQ(stats->changed, 0);
  EXPECT_EQ(CountOps(g, "Identity"), 1);
}

TEST(RemoveIdentities, DropoutOnlyWhenItsMaskIsUnused) {
  ModelBuilder b;
  b.Input("x", kF32, {4});
  b.Node("Dropout", {"x"}, {"d1", "m1"});   // mask unused: removed
  b.Node("Dropout", {"d1"}, {"d2", "m2"});  // mask is a graph output: kept
  b.Node("Relu", {"d2"}, {"y"});
  b.Output("y").Output("m2");
  Graph g = Import(b);
  auto stats = RemoveIdentities(g);
  OPAL_ASSERT_OK(stats);
  EXPECT_EQ(stats->changed, 1);
  ASSERT_EQ(CountOps(g, "Dropout"), 1);
  const Node* kept = ProducerOf(g, "d2");
  ASSERT_NE(kept, nullptr);
  EXPECT_EQ(g.value(kept->inputs[0]).name, "x");
  ExpectWellFormed(g);
}

}  // namespace
}  // namespace opal::passes
