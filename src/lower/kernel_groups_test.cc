// The kernel groups (graph-level fusion): which nodes share a kernel on the patterns models are
// made of, and, on those and on random pointwise DAGs, that the fused kernels compute what the
// node-by-node kernels compute (each of which the lowering tests check against references).
#include "lower/kernel_groups.h"

#include <gtest/gtest.h>

#include <random>

#include "graph/graph_test_util.h"
#include "lower/jit_eval.h"
#include "lower/tensor_compare.h"

namespace opal::lower {
namespace {

using opal::testing::AttrFloat;
using opal::testing::AttrInt;
using opal::testing::AttrInts;
using opal::testing::kF32;
using opal::testing::ModelBuilder;

Tensor Random(const Shape& s, uint32_t seed, double lo = -2, double hi = 2) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  Tensor t(DType::kFloat32, s);
  for (int64_t i = 0; i < t.size(); ++i) t.SetDouble(i, u(rng));
  return t;
}

void Conv(ModelBuilder& b, const std::string& x, const std::string& out, int64_t cin, int64_t cout, uint32_t seed,
          int64_t group = 1) {
  b.Init(out + "_w", Random({cout, cin / group, 3, 3}, seed, -0.3, 0.3));
  b.Init(out + "_b", Random({cout}, seed + 1));
  auto& n = b.Node("Conv", {x, out + "_w", out + "_b"}, {out});
  AttrInts(n, "kernel_shape", {3, 3});
  AttrInts(n, "pads", {1, 1, 1, 1});
  AttrInt(n, "group", group);
}

// The groups as lists of op types, for readable expectations.
std::vector<std::vector<std::string>> Ops(const Graph& g, const std::vector<KernelGroup>& groups) {
  std::vector<std::vector<std::string>> out;
  for (const KernelGroup& k : groups) {
    std::vector<std::string> ops;
    for (NodeId m : k.members) ops.push_back(g.node(m).op_type);
    out.push_back(ops);
  }
  return out;
}

// Checks the planner's promises independently: every node that needs a kernel is in exactly one
// group, members are in order, only the output is read outside its group, and groups run after
// the groups whose outputs they read.
void ExpectValidPlan(const Graph& g, const std::vector<KernelGroup>& groups) {
  std::vector<int> owner(g.num_nodes(), -1);
  for (size_t k = 0; k < groups.size(); ++k) {
    const KernelGroup& grp = groups[k];
    ASSERT_FALSE(grp.members.empty());
    EXPECT_EQ(grp.members[0], grp.anchor);
    for (size_t i = 0; i < grp.members.size(); ++i) {
      EXPECT_EQ(owner[static_cast<size_t>(grp.members[i])], -1) << "node in two groups";
      owner[static_cast<size_t>(grp.members[i])] = static_cast<int>(k);
      if (i > 0) EXPECT_LT(grp.members[i - 1], grp.members[i]);
    }
  }
  for (NodeId id = 0; id < static_cast<NodeId>(g.num_nodes()); ++id) {
    const Node& n = g.node(id);
    EXPECT_EQ(owner[static_cast<size_t>(id)] >= 0, !NeedsNoKernel(g, n)) << n.Describe();
    for (ValueId v : n.inputs) {
      if (v == kNoValue || g.value(v).producer < 0) continue;
      const int pk = owner[static_cast<size_t>(g.value(v).producer)], ck = owner[static_cast<size_t>(id)];
      if (pk < 0 || ck < 0 || pk == ck) continue;
      EXPECT_EQ(groups[static_cast<size_t>(pk)].output, v) << n.Describe() << " reads a value inside another group";
      EXPECT_LT(pk, ck) << n.Describe() << " runs before the group it reads";
    }
  }
}

// Plans, checks the plan, and compares fused with node-by-node JIT evaluation.
std::vector<std::vector<std::string>> PlanAndCompare(const ModelBuilder& b, const std::vector<Tensor>& inputs) {
  auto g = b.Import();
  EXPECT_TRUE(g.ok()) << g.status().message();
  if (!g.ok()) return {};
  const auto groups = PlanKernelGroups(*g);
  ExpectValidPlan(*g, groups);
  JitEvalStats fused_stats;
  auto fused = EvaluateGraphJit(*g, inputs, LowerOptions{}, &fused_stats, nullptr, true);
  auto alone = EvaluateGraphJit(*g, inputs, LowerOptions{}, nullptr, nullptr, false);
  EXPECT_TRUE(fused.ok()) << fused.status().message();
  EXPECT_TRUE(alone.ok()) << alone.status().message();
  if (fused.ok() && alone.ok()) {
    for (size_t i = 0; i < alone->size(); ++i) EXPECT_EQ(CompareTensors(fused->at(i), alone->at(i), 1e-5, 1e-5), "") << i;
  }
  return Ops(*g, groups);
}

using Groups = std::vector<std::vector<std::string>>;

TEST(KernelGroups, ConvThenSiluIsOneKernel) {
  ModelBuilder b;
  b.Input("x", kF32, {1, 8, 9, 9});
  Conv(b, "x", "c", 8, 16, 1);
  b.Node("Sigmoid", {"c"}, {"s"});
  b.Node("Mul", {"c", "s"}, {"y"});
  b.Output("y");
  EXPECT_EQ(PlanAndCompare(b, {Random({1, 8, 9, 9}, 2)}), (Groups{{"Conv", "Sigmoid", "Mul"}}));
}

TEST(KernelGroups, MatMulBiasAndGeluWrittenOutIsOneKernel) {
  ModelBuilder b;
  b.Input("x", kF32, {1, 6, 32});
  b.Init("w", Random({32, 48}, 1, -0.2, 0.2));
  b.Init("bias", Random({48}, 2));
  b.Init("sqrt2", opal::testing::F32({1.41421356f}, {}));
  b.Init("one", opal::testing::F32({1.f}, {}));
  b.Init("half", opal::testing::F32({0.5f}, {}));
  b.Node("MatMul", {"x", "w"}, {"m"});
  b.Node("Add", {"m", "bias"}, {"a"});
  b.Node("Div", {"a", "sqrt2"}, {"d"});
  b.Node("Erf", {"d"}, {"e"});
  b.Node("Add", {"e", "one"}, {"e1"});
  b.Node("Mul", {"a", "e1"}, {"p"});
  b.Node("Mul", {"p", "half"}, {"y"});
  b.Output("y");
  EXPECT_EQ(PlanAndCompare(b, {Random({1, 6, 32}, 3)}),
            (Groups{{"MatMul", "Add", "Div", "Erf", "Add", "Mul", "Mul"}}));
}

// ResNet's block: the residual Add (reading the other branch, computed in between) and the Relu
// after it run in the second conv's kernel, which runs after the shortcut's conv.
TEST(KernelGroups, ResidualAddAndReluJoinTheConvBeforeThem) {
  ModelBuilder b;
  b.Input("x", kF32, {1, 8, 7, 7});
  Conv(b, "x", "c1", 8, 8, 1);
  b.Node("Relu", {"c1"}, {"r1"});
  Conv(b, "r1", "c2", 8, 8, 3);
  Conv(b, "x", "d", 8, 8, 5);
  b.Node("Add", {"c2", "d"}, {"s"});
  b.Node("Relu", {"s"}, {"y"});
  b.Output("y");
  EXPECT_EQ(PlanAndCompare(b, {Random({1, 8, 7, 7}, 2)}),
            (Groups{{"Conv", "Relu"}, {"Conv"}, {"Conv", "Add", "Relu"}}));
}

// Squeeze-excitation: the gated value is read by the pool and by the gate's Mul, so its conv
// writes it; the gate's FC, Relu, FC and Sigmoid fuse into the FCs; the Mul by the broadcast gate
// is one streaming pass that never materialises the broadcast.
TEST(KernelGroups, SqueezeExcitationGateIsOnePass) {
  ModelBuilder b;
  b.Input("x", kF32, {1, 16, 6, 6});
  Conv(b, "x", "c", 16, 16, 1);
  b.Node("GlobalAveragePool", {"c"}, {"p"});
  b.Init("w1", Random({4, 16, 1, 1}, 4, -0.5, 0.5));
  b.Init("w2", Random({16, 4, 1, 1}, 5, -0.5, 0.5));
  b.Node("Conv", {"p", "w1"}, {"f1"});
  b.Node("Relu", {"f1"}, {"r"});
  b.Node("Conv", {"r", "w2"}, {"f2"});
  b.Node("Sigmoid", {"f2"}, {"gate"});
  b.Node("Mul", {"c", "gate"}, {"y"});
  b.Output("y");
  EXPECT_EQ(PlanAndCompare(b, {Random({1, 16, 6, 6}, 2)}),
            (Groups{{"Conv"}, {"GlobalAveragePool"}, {"Conv", "Relu"}, {"Conv", "Sigmoid"}, {"Mul"}}));
}

// A graph output inside a chain, and a value read by two kernels, end their group.
TEST(KernelGroups, GraphOutputsAndSharedValuesEndAGroup) {
  ModelBuilder b;
  b.Input("x", kF32, {1, 4, 5, 5});
  Conv(b, "x", "c", 4, 4, 1);
  b.Node("Relu", {"c"}, {"r"});
  b.Node("Tanh", {"r"}, {"t"});
  b.Node("Exp", {"r"}, {"e"});
  b.Node("Add", {"t", "e"}, {"y"});
  b.Output("r");
  b.Output("y");
  EXPECT_EQ(PlanAndCompare(b, {Random({1, 4, 5, 5}, 2)}), (Groups{{"Conv", "Relu"}, {"Tanh", "Exp", "Add"}}));
}

// A per-channel affine (a BN rewritten) then Relu after a Concat, and comparisons and Where on a
// mask: pointwise anchors with operands of several shapes and element types.
TEST(KernelGroups, PointwiseChainsWithBroadcastOperandsAndMasks) {
  ModelBuilder c;
  c.Input("x1", kF32, {1, 3, 4, 5});
  c.Input("x2", kF32, {1, 2, 4, 5});
  auto& cat2 = c.Node("Concat", {"x1", "x2"}, {"cat"});
  AttrInt(cat2, "axis", 1);
  c.Init("s", Random({5, 1, 1}, 3));
  c.Init("t", Random({5, 1, 1}, 4));
  c.Init("zero", opal::testing::F32({0.f}, {}));
  c.Node("Mul", {"cat", "s"}, {"m"});
  c.Node("Add", {"m", "t"}, {"a"});
  c.Node("Relu", {"a"}, {"r"});
  c.Input("row", kF32, {5});
  c.Node("Greater", {"row", "zero"}, {"mask"});
  c.Node("Neg", {"r"}, {"n"});
  c.Node("Where", {"mask", "r", "n"}, {"y"});
  c.Output("y");
  EXPECT_EQ(PlanAndCompare(c, {Random({1, 3, 4, 5}, 1), Random({1, 2, 4, 5}, 2), Random({5}, 5)}),
            (Groups{{"Concat"}, {"Greater"}, {"Mul", "Add", "Relu", "Neg", "Where"}}));
}

// Random DAGs of pointwise nodes after a conv, a matmul or an input: operands of every broadcast
// shape, constants and runtime inputs, every op family. Fused and node-by-node kernels agree.
TEST(KernelGroups, RandomPointwiseDagsComputeTheSameFusedOrNot) {
  const char* unary[] = {"Relu", "Sigmoid", "Tanh", "Neg", "Abs", "HardSwish", "LeakyRelu", "Erf", "Softsign"};
  const char* binary[] = {"Add", "Sub", "Mul", "Max", "Min"};
  std::mt19937 rng(7);
  for (int trial = 0; trial < 12; ++trial) {
    SCOPED_TRACE(trial);
    ModelBuilder b;
    const Shape shape = {1, 8, 5, 6};
    b.Input("x", kF32, shape);
    std::vector<Tensor> inputs = {Random(shape, 100 + trial)};
    std::vector<std::string> values;
    const int anchor = trial % 3;
    if (anchor == 0) {
      Conv(b, "x", "v0", 8, 8, 10 + trial);
    } else if (anchor == 1) {
      b.Init("wm", Random({6, 6}, 20 + trial, -0.5, 0.5));
      b.Node("MatMul", {"x", "wm"}, {"v0"});
    } else {
      b.Node("Sigmoid", {"x"}, {"v0"});
    }
    values.push_back("v0");
    const Shape operand_shapes[] = {{8, 1, 1}, {6}, {1, 8, 5, 6}, {5, 1}, {}};
    const int nodes = 3 + static_cast<int>(rng() % 6);
    for (int k = 1; k <= nodes; ++k) {
      const std::string out = "v" + std::to_string(k);
      const std::string a = values[rng() % values.size()];
      if (rng() % 2) {
        auto& n = b.Node(unary[rng() % std::size(unary)], {a}, {out});
        if (n.op_type() == "LeakyRelu") AttrFloat(n, "alpha", 0.1f);
      } else {
        std::string other;
        if (rng() % 3 == 0) {
          other = values[rng() % values.size()];
        } else {
          other = "k" + std::to_string(k);
          const Shape& s = operand_shapes[rng() % std::size(operand_shapes)];
          if (rng() % 2) {
            b.Init(other, Random(s, 300 + k));
          } else {
            b.Input(other, kF32, s);
            inputs.push_back(Random(s, 400 + k));
          }
        }
        b.Node(binary[rng() % std::size(binary)], {a, other}, {out});
      }
      values.push_back(out);
    }
    b.Output(values.back());
    if (rng() % 2) b.Output(values[values.size() / 2]);
    PlanAndCompare(b, inputs);
  }
}

}  // namespace
}  // namespace opal::lower
