// In-place concatenation: inputs become slices of the output when that is safe, DenseNet's chain
// of growing concats shares one block, and conflicting or strided placements are refused.
#include "builder/value_storage.h"

#include <gtest/gtest.h>

#include "graph/graph_test_util.h"

namespace opal::build {
namespace {

using opal::testing::AttrInt;
using opal::testing::kF32;
using opal::testing::ModelBuilder;

NodeId NodeWriting(const Graph& g, const std::string& value) { return g.value(*g.FindValue(value)).producer; }
ValueId V(const Graph& g, const std::string& name) { return *g.FindValue(name); }

void Concat(ModelBuilder& b, const std::vector<std::string>& in, const std::string& out, int64_t axis = 1) {
  auto& n = b.Node("Concat", in, {out});
  AttrInt(n, "axis", axis);
}

// x -> relu -> a; a -> f1 -> x1; cat1 = [a, x1]; cat1 -> f2 -> x2; cat2 = [a, x1, x2] (DenseNet).
TEST(ValueStorage, DenseNetConcatsShareOneBlock) {
  ModelBuilder b;
  b.Input("x", kF32, {1, 16, 4, 4});
  b.Node("Relu", {"x"}, {"a"});
  b.Node("Sigmoid", {"a"}, {"x1"});
  Concat(b, {"a", "x1"}, "cat1");
  b.Node("ReduceMax", {"cat1"}, {"m1"});  // a reader of cat1 (any)
  b.Node("Tanh", {"a"}, {"x2"});
  Concat(b, {"a", "x1", "x2"}, "cat2");
  b.Output("cat2");
  b.Output("m1");
  auto g = b.Import();
  ASSERT_TRUE(g.ok()) << g.status().message();
  ValueStorage s(*g);
  EXPECT_TRUE(s.PlaceConcatInPlace(NodeWriting(*g, "cat1")));
  EXPECT_TRUE(s.PlaceConcatInPlace(NodeWriting(*g, "cat2")));
  EXPECT_TRUE(s.InPlace(NodeWriting(*g, "cat1")));
  const ValueId root = s.Root(V(*g, "cat2"));
  const int64_t slice = 16 * 16 * 4;
  for (const char* v : {"a", "x1", "x2", "cat1", "cat2"}) EXPECT_EQ(s.Root(V(*g, v)), root) << v;
  EXPECT_EQ(s.Offset(V(*g, "cat2")), 0);
  EXPECT_EQ(s.Offset(V(*g, "cat1")), 0);
  EXPECT_EQ(s.Offset(V(*g, "a")), 0);
  EXPECT_EQ(s.Offset(V(*g, "x1")), slice);
  EXPECT_EQ(s.Offset(V(*g, "x2")), 2 * slice);
  EXPECT_EQ(s.RootBytes(root), 3 * slice);
}

// [a, b] and [a, c]: b and c would be written to the same bytes. The second is refused.
TEST(ValueStorage, TwoValuesOnTheSameBytesAreRefused) {
  ModelBuilder b;
  b.Input("x", kF32, {1, 16, 4, 4});
  b.Node("Relu", {"x"}, {"a"});
  b.Node("Sigmoid", {"x"}, {"b"});
  b.Node("Tanh", {"x"}, {"c"});
  Concat(b, {"a", "b"}, "cat1");
  Concat(b, {"a", "c"}, "cat2");
  b.Output("cat1");
  b.Output("cat2");
  auto g = b.Import();
  ASSERT_TRUE(g.ok());
  ValueStorage s(*g);
  EXPECT_TRUE(s.PlaceConcatInPlace(NodeWriting(*g, "cat1")));
  EXPECT_FALSE(s.PlaceConcatInPlace(NodeWriting(*g, "cat2")));
  EXPECT_FALSE(s.InPlace(NodeWriting(*g, "cat2")));
  EXPECT_NE(s.Root(V(*g, "c")), s.Root(V(*g, "cat1")));  // nothing moved
  EXPECT_EQ(s.Offset(V(*g, "c")), 0);
}

TEST(ValueStorage, StridedConstantAndMisalignedSlicesKeepTheCopy) {
  ModelBuilder b;
  b.Input("x", kF32, {2, 16, 4});
  b.Input("y", kF32, {1, 3, 5});
  b.Input("z", kF32, {1, 4, 5});
  b.Init("k", Tensor(DType::kFloat32, {2, 16, 4}));
  b.Node("Relu", {"x"}, {"a"});
  b.Node("Neg", {"x"}, {"n"});
  Concat(b, {"a", "n"}, "strided", 1);  // batch 2: the slices interleave
  Concat(b, {"a", "k"}, "with_const", 2);
  Concat(b, {"y", "z"}, "misaligned", 1);  // z would start 60 bytes in
  b.Output("strided");
  b.Output("with_const");
  b.Output("misaligned");
  auto g = b.Import();
  ASSERT_TRUE(g.ok()) << g.status().message();
  ValueStorage s(*g);
  EXPECT_FALSE(s.PlaceConcatInPlace(NodeWriting(*g, "strided")));
  EXPECT_FALSE(s.PlaceConcatInPlace(NodeWriting(*g, "with_const")));
  EXPECT_FALSE(s.PlaceConcatInPlace(NodeWriting(*g, "misaligned")));
}

// Slices of the channels of a batch-1 tensor are ranges of its bytes (ShuffleNet's split).
TEST(ValueStorage, ContiguousSlicesAreViews) {
  ModelBuilder b;
  b.Input("x", kF32, {1, 8, 4, 4});
  b.Input("y", kF32, {2, 8, 4});
  b.Node("Relu", {"x"}, {"a"});
  b.Node("Relu", {"y"}, {"c"});
  auto i64 = [](std::vector<int64_t> v) { return opal::testing::I64(v, {static_cast<int64_t>(v.size())}); };
  b.Init("s4", i64({4})).Init("e8", i64({8})).Init("ax1", i64({1})).Init("st2", i64({2})).Init("s1", i64({1}));
  b.Node("Slice", {"a", "s4", "e8", "ax1"}, {"hi"});          // channels 4..7: 256 bytes in
  b.Node("Slice", {"a", "s1", "e8", "ax1"}, {"odd"});         // 64-byte aligned? 1*16*4 = 64: yes
  b.Node("Slice", {"a", "s4", "e8", "ax1", "st2"}, {"step"});  // step 2: strided
  b.Node("Slice", {"c", "s4", "e8", "ax1"}, {"batch2"});       // batch 2: strided
  for (const char* o : {"hi", "odd", "step", "batch2"}) b.Output(o);
  auto g = b.Import();
  ASSERT_TRUE(g.ok()) << g.status().message();
  ValueStorage s(*g);
  EXPECT_TRUE(s.PlaceSliceAsView(NodeWriting(*g, "hi")));
  EXPECT_EQ(s.Root(V(*g, "hi")), s.Root(V(*g, "a")));
  EXPECT_EQ(s.Offset(V(*g, "hi")) - s.Offset(V(*g, "a")), 4 * 16 * 4);
  EXPECT_TRUE(s.PlaceSliceAsView(NodeWriting(*g, "odd")));
  EXPECT_EQ(s.Offset(V(*g, "odd")) - s.Offset(V(*g, "a")), 64);
  EXPECT_FALSE(s.PlaceSliceAsView(NodeWriting(*g, "step")));
  EXPECT_FALSE(s.PlaceSliceAsView(NodeWriting(*g, "batch2")));
}

}  // namespace
}  // namespace opal::build
