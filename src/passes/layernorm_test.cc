// FuseLayerNorm: the written-out layer normalisation becomes one LayerNormalization node that
// computes the same values (both evaluated by opal's reference ops through constant folding), and
// near misses are left alone.
#include <gtest/gtest.h>

#include "graph/graph_test_util.h"
#include "passes/passes.h"
#include "passes/passes_test_util.h"

namespace opal::passes {
namespace {

using opal::testing::AttrInt;
using opal::testing::AttrInts;
using opal::testing::F32;
using opal::testing::kF32;
using opal::testing::ModelBuilder;
using testing::CountOps;
using testing::ExpectWellFormed;
using testing::MaxRelDiff;
using testing::Random;

// x [2, 5, 8] -> the nine-node layer norm over the last axis -> y. `x_const`: x is an initializer
// (so the importer folds everything: the reference), else a graph input.
ModelBuilder WrittenOut(bool x_const, bool affine, bool square_by_mul = false, int64_t axis = -1) {
  ModelBuilder b;
  const Tensor x = Random({2, 5, 8}, 1, -2.f, 2.f);
  if (x_const) {
    b.Init("x", x);
  } else {
    b.Input("x", kF32, {2, 5, 8});
  }
  b.Init("two", F32({2.f}, {}));
  b.Init("eps", F32({1e-5f}, {}));
  b.Init("gamma", Random({8}, 2));
  b.Init("beta", Random({8}, 3));
  AttrInts(b.Node("ReduceMean", {"x"}, {"m"}), "axes", {axis});
  b.Node("Sub", {"x", "m"}, {"d"});
  if (square_by_mul) {
    b.Node("Mul", {"d", "d"}, {"p"});
  } else {
    b.Node("Pow", {"d", "two"}, {"p"});
  }
  AttrInts(b.Node("ReduceMean", {"p"}, {"v"}), "axes", {axis});
  b.Node("Add", {"v", "eps"}, {"a"});
  b.Node("Sqrt", {"a"}, {"s"});
  b.Node("Div", {"d", "s"}, {affine ? "n" : "y"});
  if (affine) {
    b.Node("Mul", {"n", "gamma"}, {"g"});
    b.Node("Add", {"g", "beta"}, {"y"});
  }
  b.Output("y");
  return b;
}

TEST(FuseLayerNorm, NineNodesBecomeOneWithTheSameValues) {
  for (bool affine : {true, false}) {
    for (bool by_mul : {false, true}) {
      SCOPED_TRACE(::testing::Message() << "affine " << affine << " square by Mul " << by_mul);
      auto g = WrittenOut(false, affine, by_mul).Import();
      OPAL_ASSERT_OK(g);
      auto stats = FuseLayerNorm(*g);
      OPAL_ASSERT_OK(stats);
      EXPECT_EQ(stats->changed, 1);
      EXPECT_EQ(CountOps(*g, "LayerNormalization"), 1);
      EXPECT_EQ(CountOps(*g, "ReduceMean") + CountOps(*g, "Sqrt") + CountOps(*g, "Div"), 0);
      ExpectWellFormed(*g);
      const Node* ln = testing::ProducerOf(*g, "y");
      ASSERT_NE(ln, nullptr);
      EXPECT_EQ(ln->attrs.GetInt("axis", 0), 2);
      EXPECT_NEAR(ln->attrs.GetFloat("epsilon", 0), 1e-5, 1e-9);
      EXPECT_EQ(ln->inputs.size(), affine ? 3u : 2u);

      // The same node as a model of its own, x constant (the same numbers), folds to the values
      // the written-out chain folds to.
      ModelBuilder fused(17);
      fused.Init("x", Random({2, 5, 8}, 1, -2.f, 2.f));
      fused.Init("scale", *g->value(ln->inputs[1]).constant);
      std::vector<std::string> ins = {"x", "scale"};
      if (affine) {
        fused.Init("bias", *g->value(ln->inputs[2]).constant);
        ins.push_back("bias");
      }
      auto& n = fused.Node("LayerNormalization", ins, {"y"});
      AttrInt(n, "axis", 2);
      opal::testing::AttrFloat(n, "epsilon", 1e-5f);
      fused.Output("y");
      auto got = fused.Import();
      auto want = WrittenOut(true, affine, by_mul).Import();
      OPAL_ASSERT_OK(got);
      OPAL_ASSERT_OK(want);
      const Value& gy = opal::testing::Val(*got, "y");
      const Value& wy = opal::testing::Val(*want, "y");
      ASSERT_TRUE(gy.constant && wy.constant) << "not folded";
      EXPECT_LT(MaxRelDiff(*gy.constant, *wy.constant), 1e-5);
    }
  }
}

TEST(FuseLayerNorm, NearMissesStay) {
  // The means over axis 1 of [2, 5, 8]: not the trailing axes.
  auto g = WrittenOut(false, true, false, 1).Import();
  OPAL_ASSERT_OK(g);
  auto stats = FuseLayerNorm(*g);
  OPAL_ASSERT_OK(stats);
  EXPECT_EQ(stats->changed, 0);
  // The centred value also read by a third node.
  ModelBuilder b = WrittenOut(false, true);
  b.Node("Relu", {"d"}, {"extra"});
  b.Output("extra");
  auto g2 = b.Import();
  OPAL_ASSERT_OK(g2);
  stats = FuseLayerNorm(*g2);
  OPAL_ASSERT_OK(stats);
  EXPECT_EQ(stats->changed, 0);
  EXPECT_EQ(CountOps(*g2, "ReduceMean"), 2);
}

}  // namespace
}  // namespace opal::passes
