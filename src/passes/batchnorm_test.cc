#include <gtest/gtest.h>

#include <cmath>

#include "passes/passes.h"
#include "passes/passes_test_util.h"

namespace opal::passes {
namespace {

using opal::testing::AttrFloat;
using opal::testing::AttrInt;
using opal::testing::AttrInts;
using opal::testing::kF32;
using opal::testing::ModelBuilder;
using testing::CountOps;
using testing::EvalGraph;
using testing::ExpectWellFormed;
using testing::MaxRelDiff;
using testing::ProducerOf;
using testing::Random;

constexpr int64_t kC = 4, kK = 6;

// x [1,4,7,7] -> Conv(3x3, stride 2, pad 1, `group`) -> BN -> y, every parameter random.
ModelBuilder ConvBn(bool bias, int64_t group, bool weights_constant = true) {
  ModelBuilder b;
  b.Input("x", kF32, {1, kC, 7, 7});
  if (weights_constant) {
    b.Init("w", Random({kK, kC / group, 3, 3}, 11));
  } else {
    b.Input("w", kF32, {kK, kC / group, 3, 3});
  }
  if (bias) b.Init("b", Random({kK}, 12));
  b.Init("scale", Random({kK}, 13, 0.5f, 2.f));
  b.Init("shift", Random({kK}, 14));
  b.Init("mean", Random({kK}, 15));
  b.Init("var", Random({kK}, 16, 0.1f, 3.f));
  auto& conv = b.Node(
      "Conv", bias ? std::vector<std::string>{"x", "w", "b"} : std::vector<std::string>{"x", "w"},
      {"c"});
  AttrInts(conv, "kernel_shape", {3, 3});
  AttrInts(conv, "strides", {2, 2});
  AttrInts(conv, "pads", {1, 1, 1, 1});
  AttrInt(conv, "group", group);
  auto& bn = b.Node("BatchNormalization", {"c", "scale", "shift", "mean", "var"}, {"y"});
  AttrFloat(bn, "epsilon", 1e-3f);
  b.Output("y");
  return b;
}

class FoldBatchNormNumeric : public ::testing::TestWithParam<std::tuple<bool, int64_t>> {};

TEST_P(FoldBatchNormNumeric, FoldedConvComputesConvThenBn) {
  const auto [bias, group] = GetParam();
  ModelBuilder b = ConvBn(bias, group);
  auto imported = b.Import();
  OPAL_ASSERT_OK(imported);
  Graph g = std::move(imported).value();
  const Tensor x = Random({1, kC, 7, 7}, 7);
  const Tensor want = EvalGraph(g, {{"x", x}}).at("y");
  // A second, independent reference: opal's import-time folding with x bound to a constant.
  ImportOptions bound;
  bound.input_values["x"] = x;
  auto folded = b.Import(bound);
  OPAL_ASSERT_OK(folded);
  const Value& yv = folded->value(*folded->FindValue("y"));
  ASSERT_TRUE(yv.constant);
  EXPECT_LT(MaxRelDiff(want, *yv.constant), 1e-5);

  auto stats = FoldBatchNorm(g);
  OPAL_ASSERT_OK(stats);
  EXPECT_EQ(stats->changed, 1);
  EXPECT_EQ(CountOps(g, "BatchNormalization"), 0);
  const Node* conv = ProducerOf(g, "y");
  ASSERT_NE(conv, nullptr);
  EXPECT_EQ(conv->op_type, "Conv");
  ASSERT_EQ(conv->inputs.size(), 3u);
  EXPECT_TRUE(g.value(conv->inputs[1]).constant);
  EXPECT_TRUE(g.value(conv->inputs[2]).constant);
  EXPECT_EQ(ShapeToString(g.value(conv->inputs[2]).shape), "6");
  ExpectWellFormed(g);
  const Tensor got = EvalGraph(g, {{"x", x}}).at("y");
  EXPECT_LT(MaxRelDiff(got, want), 1e-5) << "bias=" << bias << " group=" << group;
}

INSTANTIATE_TEST_SUITE_P(BiasAndGroups, FoldBatchNormNumeric,
                         ::testing::Combine(::testing::Bool(), ::testing::Values(1, 2)));

TEST(FoldBatchNorm, NotFoldedWhenTheConvOutputHasAnotherReader) {
  ModelBuilder b = ConvBn(true, 1);
  b.Node("Relu", {"c"}, {"r"});
  b.Output("r");
  auto g = b.Import();
  OPAL_ASSERT_OK(g);
  auto stats = FoldBatchNorm(*g);
  OPAL_ASSERT_OK(stats);
  EXPECT_EQ(stats->changed, 0);
  EXPECT_EQ(CountOps(*g, "BatchNormalization"), 1);
  EXPECT_EQ(g->value(ProducerOf(*g, "c")->inputs[1]).name, "w");  // weights untouched
}

TEST(FoldBatchNorm, NotFoldedWhenTheWeightsAreNotConstant) {
  auto g = ConvBn(true, 1, /*weights_constant=*/false).Import();
  OPAL_ASSERT_OK(g);
  auto stats = FoldBatchNorm(*g);
  OPAL_ASSERT_OK(stats);
  EXPECT_EQ(stats->changed, 0);
  EXPECT_EQ(CountOps(*g, "BatchNormalization"), 1);
}

TEST(FoldBatchNorm, SharedWeightsAreCopiedNotChanged) {
  // A second Conv reads the same weights; folding must not change what it computes.
  ModelBuilder b = ConvBn(false, 1);
  auto& conv2 = b.Node("Conv", {"x", "w"}, {"c2"});
  AttrInts(conv2, "kernel_shape", {3, 3});
  AttrInts(conv2, "pads", {1, 1, 1, 1});
  AttrInts(conv2, "strides", {2, 2});
  b.Output("c2");
  auto g = b.Import();
  OPAL_ASSERT_OK(g);
  const Tensor x = Random({1, kC, 7, 7}, 8);
  auto want = EvalGraph(*g, {{"x", x}});
  auto stats = FoldBatchNorm(*g);
  OPAL_ASSERT_OK(stats);
  EXPECT_EQ(stats->changed, 1);
  auto got = EvalGraph(*g, {{"x", x}});
  EXPECT_LT(MaxRelDiff(got.at("y"), want.at("y")), 1e-5);
  EXPECT_EQ(MaxRelDiff(got.at("c2"), want.at("c2")), 0.0);
}

// A BN that follows a Concat (DenseNet's pre-activation) cannot be folded into a conv: it becomes
// Mul + Add by per-channel constants, which compute what the BN computed.
TEST(BatchNormAsAffine, BnAfterConcatBecomesMulAddWithTheSameValues) {
  ModelBuilder b;
  b.Input("x1", kF32, {1, 3, 5, 5});
  b.Input("x2", kF32, {1, 2, 5, 5});
  auto& cat = b.Node("Concat", {"x1", "x2"}, {"cat"});
  AttrInt(cat, "axis", 1);
  b.Init("scale", Random({5}, 13, 0.5f, 2.f));
  b.Init("shift", Random({5}, 14));
  b.Init("mean", Random({5}, 15));
  b.Init("var", Random({5}, 16, 0.1f, 3.f));
  auto& bn = b.Node("BatchNormalization", {"cat", "scale", "shift", "mean", "var"}, {"y"});
  AttrFloat(bn, "epsilon", 1e-3f);
  b.Output("y");
  auto g = b.Import();
  OPAL_ASSERT_OK(g);
  // The reference: the BN formula on the concatenated input, written out here.
  const Tensor x1 = Random({1, 3, 5, 5}, 1), x2 = Random({1, 2, 5, 5}, 2);
  const Tensor& sc = *g->value(*g->FindValue("scale")).constant;
  const Tensor& sh = *g->value(*g->FindValue("shift")).constant;
  const Tensor& mu = *g->value(*g->FindValue("mean")).constant;
  const Tensor& var = *g->value(*g->FindValue("var")).constant;
  Tensor want(DType::kFloat32, {1, 5, 5, 5});
  for (int64_t c = 0; c < 5; ++c)
    for (int64_t i = 0; i < 25; ++i) {
      const double x = c < 3 ? x1.data<float>()[c * 25 + i] : x2.data<float>()[(c - 3) * 25 + i];
      want.data<float>()[c * 25 + i] = static_cast<float>(
          (x - mu.GetDouble(c)) / std::sqrt(var.GetDouble(c) + 1e-3) * sc.GetDouble(c) + sh.GetDouble(c));
    }
  auto stats = BatchNormAsAffine(*g);
  OPAL_ASSERT_OK(stats);
  EXPECT_EQ(stats->changed, 1);
  EXPECT_EQ(CountOps(*g, "BatchNormalization"), 0);
  EXPECT_EQ(CountOps(*g, "Mul"), 1);
  EXPECT_EQ(CountOps(*g, "Add"), 1);
  ExpectWellFormed(*g);
  Tensor cat_v(DType::kFloat32, {1, 5, 5, 5});
  for (int64_t i = 0; i < 75; ++i) cat_v.data<float>()[i] = x1.data<float>()[i];
  for (int64_t i = 0; i < 50; ++i) cat_v.data<float>()[75 + i] = x2.data<float>()[i];
  // EvalGraph has no Concat: evaluate from the concatenated value on.
  const Node* mul = ProducerOf(*g, g->value(ProducerOf(*g, "y")->inputs[0]).name);
  ASSERT_NE(mul, nullptr);
  EXPECT_EQ(mul->op_type, "Mul");
  Tensor got = cat_v;
  const Tensor& s = *g->value(mul->inputs[1]).constant;
  const Tensor& t = *g->value(ProducerOf(*g, "y")->inputs[1]).constant;
  EXPECT_EQ(ShapeToString(s.shape()), "5x1x1");
  for (int64_t c = 0; c < 5; ++c)
    for (int64_t i = 0; i < 25; ++i)
      got.data<float>()[c * 25 + i] = got.data<float>()[c * 25 + i] * s.data<float>()[c] + t.data<float>()[c];
  EXPECT_LT(MaxRelDiff(got, want), 1e-5);
}

TEST(BatchNormAsAffine, TrainingModeAndRuntimeParametersStay) {
  ModelBuilder b;
  b.Input("x", kF32, {1, 2, 3, 3});
  b.Input("scale", kF32, {2});
  b.Init("shift", Random({2}, 14));
  b.Init("mean", Random({2}, 15));
  b.Init("var", Random({2}, 16, 0.1f, 3.f));
  b.Node("BatchNormalization", {"x", "scale", "shift", "mean", "var"}, {"y"});
  b.Output("y");
  auto g = b.Import();
  OPAL_ASSERT_OK(g);
  auto stats = BatchNormAsAffine(*g);
  OPAL_ASSERT_OK(stats);
  EXPECT_EQ(stats->changed, 0);
  EXPECT_EQ(CountOps(*g, "BatchNormalization"), 1);
}

}  // namespace
}  // namespace opal::passes
