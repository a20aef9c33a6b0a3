// The graph IR and the ONNX importer: topological order, cycles, malformed files, input shapes.
#include "opal/graph.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <random>

#include "graph/graph_test_util.h"
#include "opal/onnx_import.h"

namespace opal {
namespace {

using testing::ExpectError;
using testing::F32;
using testing::kF32;
using testing::ModelBuilder;
using testing::ShapeOf;

// ---- Graph -------------------------------------------------------------------------------------

// A graph of unary nodes: each (name, input value, output value), values created on first use.
Graph Chain(const std::vector<std::array<std::string, 3>>& nodes) {
  Graph g;
  auto value = [&](const std::string& name) {
    if (auto id = g.FindValue(name)) return *id;
    Value v;
    v.name = name;
    return g.AddValue(v);
  };
  for (const auto& [name, in, out] : nodes) {
    Node n;
    n.name = name;
    n.op_type = "Relu";
    n.inputs = {value(in)};
    n.outputs = {value(out)};
    g.AddNode(std::move(n));
  }
  return g;
}

TEST(Graph, TopologicalSortOrdersProducersFirst) {
  Graph g = Chain({{"c", "b", "out"}, {"a", "x", "a_out"}, {"b", "a_out", "b"}});
  ASSERT_TRUE(g.TopologicalSort().ok());
  std::vector<std::string> order;
  for (const auto& n : g.nodes()) order.push_back(n.name);
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(g.value(*g.FindValue("b")).producer, 1);
}

TEST(Graph, TopologicalSortOnACycleNamesTheNodes) {
  // x -> first -> p; second reads q (third's output), third reads p and... a 2-cycle
  // second<->third.
  Graph g = Chain({{"first", "x", "p"}, {"second", "r", "q"}, {"third", "q", "r"}});
  Status st = g.TopologicalSort();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), ErrorCode::kInvalidModel);
  EXPECT_NE(st.message().find("cycle"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("'second'"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("'third'"), std::string::npos) << st.message();
  EXPECT_EQ(st.message().find("'first'"), std::string::npos) << st.message();
  EXPECT_EQ(g.nodes()[0].name, "first");  // order unchanged
}

TEST(Graph, ConsumersAndRemoveNodes) {
  Graph g = Chain({{"a", "x", "y"}, {"b", "y", "z"}, {"c", "y", "w"}});
  EXPECT_EQ(g.Consumers(*g.FindValue("y")), (std::vector<NodeId>{1, 2}));
  g.RemoveNodes({1});
  ASSERT_EQ(g.num_nodes(), 2u);
  EXPECT_EQ(g.nodes()[1].name, "c");
  EXPECT_EQ(g.value(*g.FindValue("w")).producer, 1);
  EXPECT_EQ(g.value(*g.FindValue("z")).producer, -1);
}

// ---- importer: malformed files -----------------------------------------------------------------

// x (1x3x8x8) -> Relu -> y, with a 64 KiB weight so that a truncated copy cannot parse.
ModelBuilder SmallModel() {
  ModelBuilder b;
  b.Input("x", kF32, {1, 3, 8, 8});
  b.Init("w", F32(std::vector<float>(16384, 0.5f), {16384}));
  b.Node("Relu", {"x"}, {"y"});
  b.Output("y");
  return b;
}

TEST(Importer, ImportsASmallModel) {
  auto g = SmallModel().Import();
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_EQ(ShapeOf(*g, "y"), "1x3x8x8");
  EXPECT_EQ(g->opset, 13);
  EXPECT_TRUE(g->UnsupportedOps().empty());
}

TEST(Importer, RejectsEmptyRandomAndTruncatedBytes) {
  ExpectError(ImportOnnxBytes(""), ErrorCode::kInvalidModel, "empty");
  std::mt19937 rng(42);
  std::string noise(4096, '\0');
  for (char& c : noise) c = static_cast<char>(rng());
  auto r = ImportOnnxBytes(noise);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidModel) << r.status().message();
  std::string bytes = SmallModel().Bytes();
  ExpectError(ImportOnnxBytes(bytes.substr(0, bytes.size() / 2)), ErrorCode::kInvalidModel,
              "not a valid ONNX");
}

TEST(Importer, FilesThatAreMissingOrEmpty) {
  ExpectError(ImportOnnxFile("/nonexistent/model.onnx"), ErrorCode::kNotFound,
              "/nonexistent/model.onnx");
  std::string path = ::testing::TempDir() + "opal_empty_" + std::to_string(getpid()) + ".onnx";
  { std::ofstream f(path); }
  ExpectError(ImportOnnxFile(path), ErrorCode::kInvalidModel, "empty");
  std::remove(path.c_str());
}

TEST(Importer, RejectsADanglingInput) {
  ModelBuilder b;
  b.Input("x", kF32, {2, 2});
  b.Node("Add", {"x", "ghost"}, {"y"});
  b.Output("y");
  ExpectError(b.Import(), ErrorCode::kInvalidModel, "'ghost'");
}

TEST(Importer, RejectsADuplicateTensorName) {
  ModelBuilder b;
  b.Input("x", kF32, {2, 2});
  b.Node("Relu", {"x"}, {"y"});
  b.Node("Neg", {"x"}, {"y"});
  b.Output("y");
  ExpectError(b.Import(), ErrorCode::kInvalidModel, "'y' is defined twice");
  ModelBuilder c;
  c.Input("x", kF32, {2});
  c.Init("w", F32({1, 2}, {2}));
  c.Init("w", F32({3, 4}, {2}));
  c.Node("Add", {"x", "w"}, {"y"});
  c.Output("y");
  ExpectError(c.Import(), ErrorCode::kInvalidModel, "'w' is defined twice");
}

TEST(Importer, RejectsACycle) {
  ModelBuilder b;
  b.Input("x", kF32, {2});
  b.Node("Add", {"x", "b"}, {"a"});
  b.Node("Relu", {"a"}, {"b"});
  b.Output("b");
  ExpectError(b.Import(), ErrorCode::kInvalidModel, "cycle");
}

// ---- importer: input shapes --------------------------------------------------------------------

ModelBuilder SymbolicModel() {
  ModelBuilder b;
  b.Input("images", kF32, {-1, 3, 4, 4});
  b.Node("Relu", {"images"}, {"y"});
  b.Output("y");
  return b;
}

TEST(Importer, SymbolicDimNeedsAnOverride) {
  // A symbolic batch (first) dimension is taken as 1 by default ...
  auto r = SymbolicModel().Import();
  OPAL_ASSERT_OK(r);
  EXPECT_EQ(ShapeOf(*r, "images"), "1x3x4x4");
  // ... or needs the override when that default is off,
  ImportOptions strict;
  strict.symbolic_batch_is_one = false;
  r = SymbolicModel().Import(strict);
  ExpectError(r, ErrorCode::kInvalidArgument, "--input-shape");
  EXPECT_NE(r.status().message().find("'images'"), std::string::npos);
  EXPECT_NE(r.status().message().find("'N'"), std::string::npos);
  // ... and so does any other symbolic dimension.
  ModelBuilder b;
  b.Input("images", kF32, {1, 3, -1, 4});
  b.Node("Relu", {"images"}, {"y"});
  b.Output("y");
  ExpectError(b.Import(), ErrorCode::kInvalidArgument, "--input-shape");
}

TEST(Importer, InputShapeOverrideIsUsed) {
  ImportOptions o;
  o.input_shapes["images"] = {8, 3, 4, 4};
  auto g = SymbolicModel().Import(o);
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_EQ(ShapeOf(*g, "y"), "8x3x4x4");
  // An override also replaces concrete dims.
  o.input_shapes["images"] = {2, 3, 5, 5};
  g = SymbolicModel().Import(o);
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_EQ(ShapeOf(*g, "y"), "2x3x5x5");
}

TEST(Importer, UnknownOverrideNameListsTheInputs) {
  ImportOptions o;
  o.input_shapes["image"] = {1, 3, 4, 4};
  auto r = SymbolicModel().Import(o);
  ExpectError(r, ErrorCode::kInvalidArgument, "'image'");
  EXPECT_NE(r.status().message().find("images"), std::string::npos) << r.status().message();
}

TEST(Importer, ZeroDimIsRejectedUnlessBoundToAValue) {
  ModelBuilder b;
  b.Input("x", kF32, {0, 3});
  b.Node("Relu", {"x"}, {"y"});
  b.Output("y");
  ExpectError(b.Import(), ErrorCode::kInvalidModel, "dimension 0 of size 0");
  ImportOptions o;
  o.input_values["x"] = Tensor(DType::kFloat32, {0, 3});
  auto g = b.Import(o);
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_EQ(ShapeOf(*g, "y"), "0x3");
}

TEST(Importer, BoundInputValuesAreFolded) {
  ImportOptions o;
  o.input_values["x"] = F32({-1, 2, -3, 4}, {2, 2});
  ModelBuilder b;
  b.Input("x", kF32, {2, 2});
  b.Node("Relu", {"x"}, {"y"});
  b.Output("y");
  auto g = b.Import(o);
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_EQ(testing::Folded(*g, "y"), (std::vector<double>{0, 2, 0, 4}));
}

TEST(Importer, UnsupportedOperatorIsListedAndNamedDownstream) {
  ModelBuilder b;
  b.Input("x", kF32, {2, 2});
  b.Node("Mystery", {"x"}, {"m"}, "com.example");
  b.Node("Relu", {"m"}, {"y"});
  b.Output("y");
  auto g = b.Import();
  ASSERT_TRUE(g.ok()) << g.status().message();
  ASSERT_EQ(g->UnsupportedOps().size(), 1u);
  EXPECT_EQ(g->UnsupportedOps().begin()->first, "com.example::Mystery");
  const Value& y = testing::Val(*g, "y");
  EXPECT_FALSE(y.shape_known);
  EXPECT_NE(y.unknown_reason.find("Mystery"), std::string::npos) << y.unknown_reason;
}

TEST(Importer, AttributeOfTheWrongKindIsAModelError) {
  ModelBuilder b;
  b.Input("x", kF32, {2, 3});
  testing::AttrString(b.Node("Transpose", {"x"}, {"y"}), "perm", "1,0");
  b.Output("y");
  ExpectError(b.Import(), ErrorCode::kInvalidModel, "attribute 'perm' must be ints");
}

TEST(Importer, RequiredOutputWithoutANameIsAModelError) {
  ModelBuilder b;
  b.Input("x", kF32, {2, 3});
  b.Node("Relu", {"x"}, {""});
  b.Node("Neg", {"x"}, {"y"});
  b.Output("y");
  ExpectError(b.Import(), ErrorCode::kInvalidModel, "required output 0");
}

TEST(Importer, DeclaredOutputShapeMustMatch) {
  ModelBuilder b;
  b.Input("x", kF32, {2, 3});
  b.Node("Relu", {"x"}, {"y"});
  auto* out = b.proto().mutable_graph()->add_output();
  out->set_name("y");
  auto* tt = out->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(kF32);
  tt->mutable_shape()->add_dim()->set_dim_value(3);
  tt->mutable_shape()->add_dim()->set_dim_value(2);
  ExpectError(b.Import(), ErrorCode::kInvalidModel, "declares shape 3x2");
}

}  // namespace
}  // namespace opal
