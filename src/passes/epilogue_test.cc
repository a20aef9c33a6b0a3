#include <gtest/gtest.h>

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
using testing::EvalGraph;
using testing::ExpectWellFormed;
using testing::MaxRelDiff;
using testing::ProducerOf;
using testing::Random;

std::vector<std::string> Epilogue(const Node* n) {
  if (!n) return {"<no producer>"};
  const Attribute* a = n->attrs.Find("opal_epilogue");
  return a ? a->strings : std::vector<std::string>{};
}

void AddConv(ModelBuilder& b, const std::string& x, const std::string& w, const std::string& out,
             bool bias, uint32_t seed, int64_t cin = 4, int64_t cout = 4) {
  b.Init(w, Random({cout, cin, 3, 3}, seed));
  std::vector<std::string> ins{x, w};
  if (bias) {
    b.Init(w + "_b", Random({cout}, seed + 1));
    ins.push_back(w + "_b");
  }
  auto& n = b.Node("Conv", ins, {out});
  AttrInts(n, "kernel_shape", {3, 3});
  AttrInts(n, "pads", {1, 1, 1, 1});
}

// Fuses, checks the graph is well formed, and that it computes what it computed before.
Graph FuseAndCompare(const ModelBuilder& b, const std::map<std::string, Tensor>& inputs,
                     int expect_changed) {
  auto imported = b.Import();
  OPAL_CHECK(imported.ok(), "{}", imported.status().message());
  Graph g = std::move(imported).value();
  auto want = EvalGraph(g, inputs);
  auto stats = FuseEpilogues(g);
  EXPECT_TRUE(stats.ok()) << stats.status().message();
  if (stats.ok()) {
    EXPECT_EQ(stats->changed, expect_changed);
  }
  ExpectWellFormed(g);
  auto got = EvalGraph(g, inputs);
  for (const auto& [name, t] : want) EXPECT_LT(MaxRelDiff(got.at(name), t), 1e-6) << name;
  return g;
}

TEST(FuseEpilogues, ConvBiasLikeAddThenRelu) {
  ModelBuilder b;
  b.Input("x", kF32, {1, 4, 5, 5});
  AddConv(b, "x", "w", "c", /*bias=*/false, 1);
  b.Init("bias", Random({1, 4, 1, 1}, 3));
  b.Node("Add", {"c", "bias"}, {"a"});
  b.Node("Relu", {"a"}, {"y"});
  b.Output("y");
  Graph g = FuseAndCompare(b, {{"x", Random({1, 4, 5, 5}, 4)}}, 2);
  ASSERT_EQ(g.num_nodes(), 1u);
  const Node* conv = ProducerOf(g, "y");
  EXPECT_EQ(Epilogue(conv), (std::vector<std::string>{"add:3", "relu"}));
  ASSERT_EQ(conv->inputs.size(), 4u);
  EXPECT_EQ(conv->inputs[2], kNoValue);  // input 2 stays the (absent) bias
  EXPECT_EQ(g.value(conv->inputs[3]).name, "bias");
}

TEST(FuseEpilogues, ConvClipIsRelu6AndBoundsMayBeAbsent) {
  ModelBuilder b;
  b.Input("x", kF32, {1, 4, 5, 5});
  AddConv(b, "x", "w1", "c1", true, 1);
  b.Init("lo", F32({0.f}, {}));
  b.Init("hi", F32({6.f}, {}));
  b.Node("Clip", {"c1", "lo", "hi"}, {"r1"});
  AddConv(b, "r1", "w2", "c2", true, 5);
  b.Node("Clip", {"c2", "", "hi"}, {"y"});
  b.Output("y");
  Tensor x = Random({1, 4, 5, 5}, 4, -3.f, 3.f);
  Graph g = FuseAndCompare(b, {{"x", x}}, 2);
  EXPECT_EQ(Epilogue(ProducerOf(g, "r1")), (std::vector<std::string>{"clip:0:6"}));
  EXPECT_EQ(Epilogue(ProducerOf(g, "y")), (std::vector<std::string>{"clip:-inf:6"}));
}

// ResNet's downsampling block: the residual Add of two conv outputs goes to the conv computed
// later, the other operand being ready by then.
TEST(FuseEpilogues, ResidualAddGoesToTheLaterConv) {
  for (bool downsample_first : {false, true}) {
    SCOPED_TRACE(downsample_first);
    ModelBuilder b;
    b.Input("x", kF32, {1, 4, 5, 5});
    if (downsample_first) AddConv(b, "x", "wd", "d", true, 9);
    AddConv(b, "x", "w1", "c1", true, 1);
    b.Node("Relu", {"c1"}, {"r1"});
    AddConv(b, "r1", "w2", "c2", true, 3);
    if (!downsample_first) AddConv(b, "x", "wd", "d", true, 9);
    b.Node("Add", {"c2", "d"}, {"s"});
    b.Node("Relu", {"s"}, {"y"});
    b.Output("y");
    Graph g = FuseAndCompare(b, {{"x", Random({1, 4, 5, 5}, 4)}}, 3);
    EXPECT_EQ(g.num_nodes(), 3u);
    EXPECT_EQ(Epilogue(ProducerOf(g, "r1")), (std::vector<std::string>{"relu"}));
    const Node* last = ProducerOf(g, "y");
    EXPECT_EQ(Epilogue(last), (std::vector<std::string>{"add:3", "relu"}));
    EXPECT_EQ(g.value(last->inputs[1]).name, downsample_first ? "w2" : "wd");
    EXPECT_EQ(g.value(last->inputs[3]).name, downsample_first ? "d" : "c2");
  }
}

TEST(FuseEpilogues, MatMulBiasAddThenScaleAndGemmRelu) {
  ModelBuilder b;
  b.Input("x", kF32, {1, 3, 8});
  b.Init("w", Random({8, 16}, 1));
  b.Init("bias", Random({16}, 2));
  b.Init("scale", Random({3, 1}, 3));
  b.Node("MatMul", {"x", "w"}, {"m"});
  b.Node("Add", {"bias", "m"}, {"a"});  // bias first, as exporters often write it
  b.Node("Mul", {"a", "scale"}, {"y"});
  b.Input("p", kF32, {2, 8});
  b.Init("gw", Random({16, 8}, 4));
  b.Init("gc", Random({16}, 5));
  auto& gemm = b.Node("Gemm", {"p", "gw", "gc"}, {"gm"});
  AttrInt(gemm, "transB", 1);
  b.Node("Relu", {"gm"}, {"z"});
  b.Output("y").Output("z");
  Graph g = FuseAndCompare(b, {{"x", Random({1, 3, 8}, 6)}, {"p", Random({2, 8}, 7)}}, 3);
  const Node* mm = ProducerOf(g, "y");
  EXPECT_EQ(Epilogue(mm), (std::vector<std::string>{"add:2", "mul:3"}));
  EXPECT_EQ(g.value(mm->inputs[2]).name, "bias");
  EXPECT_EQ(Epilogue(ProducerOf(g, "z")), (std::vector<std::string>{"relu"}));
}

TEST(FuseEpilogues, ValueWithTwoReadersIsNotFused) {
  ModelBuilder b;
  b.Input("x", kF32, {1, 4, 5, 5});
  AddConv(b, "x", "w", "c", true, 1);
  b.Node("Relu", {"c"}, {"r"});
  b.Node("Add", {"r", "c"}, {"y"});  // c read twice: nothing fuses into the conv
  b.Output("y");
  Graph g = FuseAndCompare(b, {{"x", Random({1, 4, 5, 5}, 4)}}, 0);
  EXPECT_EQ(g.num_nodes(), 3u);
}

TEST(FuseEpilogues, GraphOutputIsNotFusedAway) {
  ModelBuilder b;
  b.Input("x", kF32, {1, 4, 5, 5});
  AddConv(b, "x", "w", "c", true, 1);
  b.Node("Relu", {"c"}, {"y"});
  b.Output("c").Output("y");
  Graph g = FuseAndCompare(b, {{"x", Random({1, 4, 5, 5}, 4)}}, 0);
  EXPECT_EQ(ProducerOf(g, "c")->op_type, "Conv");
  EXPECT_EQ(ProducerOf(g, "y")->op_type, "Relu");
}

TEST(FuseEpilogues, OperandThatWouldEnlargeOrComesLaterIsNotFused) {
  ModelBuilder b;
  b.Input("x", kF32, {1, 4, 5, 5});
  AddConv(b, "x", "w", "c", true, 1);
  b.Init("big", Random({2, 4, 5, 5}, 2));
  b.Node("Add", {"c", "big"}, {"y"});  // output 2x4x5x5 is larger than the conv's
  AddConv(b, "x", "w2", "c2", true, 3);
  b.Input("z", kF32, {1, 4, 5, 5});
  b.Node("Relu", {"z"}, {"rz"});  // computed after c2
  b.Node("Add", {"c2", "rz"}, {"y2"});
  b.Output("y").Output("y2");
  Graph g = FuseAndCompare(b, {{"x", Random({1, 4, 5, 5}, 4)}, {"z", Random({1, 4, 5, 5}, 5)}}, 0);
  EXPECT_EQ(CountOps(g, "Add"), 2);
}

TEST(FuseEpilogues, IntegerMatMulIsNotFused) {
  ModelBuilder b;
  b.Input("x", opal::testing::kI32, {2, 3});
  b.Init("w", Tensor(DType::kInt32, {3, 2}));
  b.Init("k", Tensor(DType::kInt32, {2}));
  b.Node("MatMul", {"x", "w"}, {"m"});
  b.Node("Add", {"m", "k"}, {"y"});
  b.Output("y");
  auto g = b.Import();
  OPAL_ASSERT_OK(g);
  auto stats = FuseEpilogues(*g);
  OPAL_ASSERT_OK(stats);
  EXPECT_EQ(stats->changed, 0);
}

}  // namespace
}  // namespace opal::passes
