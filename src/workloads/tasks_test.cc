#include "opal/tasks.h"

#include <gtest/gtest.h>

#include "opal/onnx_import.h"
#include "testing/onnx_model_builder.h"

namespace opal {
namespace {

using testing::OnnxModelBuilder;

TaskList TasksOf(OnnxModelBuilder& b) {
  auto g = ImportOnnxBytes(b.Bytes());
  EXPECT_TRUE(g.ok()) << g.status().message();
  return g.ok() ? ExtractTasks(*g) : TaskList{};
}

TEST(Tasks, IdenticalConvsAreOneTaskWhateverTheirEpilogue) {
  OnnxModelBuilder b;
  b.Input("x", {1, 8, 16, 16}).Initializer("w1", {8, 8, 3, 3}).Initializer("w2", {8, 8, 3, 3}).Initializer("bias", {8});
  b.Node("Conv", {"x", "w1", "bias"}, {"y1"}, "conv_a").Ints("pads", {1, 1, 1, 1});
  b.Node("Relu", {"y1"}, {"r1"});
  b.Node("Conv", {"r1", "w2"}, {"y2"}, "conv_b").Ints("pads", {1, 1, 1, 1}).Ints("kernel_shape", {3, 3});
  b.Output("y2");
  TaskList t = TasksOf(b);
  ASSERT_EQ(t.tasks.size(), 1u);
  EXPECT_EQ(t.tasks[0].count, 2);
  EXPECT_EQ(t.tasks[0].nodes, (std::vector<std::string>{"conv_a", "conv_b"}));
  EXPECT_DOUBLE_EQ(t.tasks[0].share, 1.0);
  EXPECT_EQ(t.other_ops["Relu"], 1);
}

TEST(Tasks, StrideDilationGroupsAndPadsSeparateTasks) {
  OnnxModelBuilder b;
  b.Input("x", {1, 8, 16, 16}).Initializer("w", {8, 8, 3, 3}).Initializer("dw", {8, 1, 3, 3});
  b.Node("Conv", {"x", "w"}, {"a"}).Ints("pads", {1, 1, 1, 1});
  b.Node("Conv", {"x", "w"}, {"b"}).Ints("pads", {1, 1, 1, 1}).Ints("strides", {2, 2});
  b.Node("Conv", {"x", "w"}, {"c"}).Ints("pads", {2, 2, 2, 2}).Ints("dilations", {2, 2});
  b.Node("Conv", {"x", "dw"}, {"d"}).Ints("pads", {1, 1, 1, 1}).Int("group", 8);
  b.Node("Conv", {"x", "w"}, {"e"}).String("auto_pad", "SAME_UPPER");  // same as (a)
  b.Output("a").Output("b").Output("c").Output("d").Output("e");
  TaskList t = TasksOf(b);
  ASSERT_EQ(t.tasks.size(), 4u);
  int total = 0;
  for (const auto& task : t.tasks) total += task.count;
  EXPECT_EQ(total, 5);
  // Depthwise: groups == c == k.
  bool depthwise = false;
  for (const auto& task : t.tasks) depthwise |= task.workload.Get("groups") == 8;
  EXPECT_TRUE(depthwise);
}

TEST(Tasks, MatMulWithSharedWeightsIsDenseAndGemmKeepsTransposes) {
  OnnxModelBuilder b;
  b.Input("x", {2, 128, 256}).Initializer("w", {256, 512});
  b.Input("y", {64, 256}).Initializer("fc", {1000, 256});
  b.Node("MatMul", {"x", "w"}, {"h"});
  b.Node("Gemm", {"y", "fc"}, {"z"}).Int("transB", 1).Float("alpha", 0.5f);
  b.Output("h").Output("z");
  TaskList t = TasksOf(b);
  ASSERT_EQ(t.tasks.size(), 2u);
  const Workload& mm = t.tasks[0].workload;  // the larger one first
  EXPECT_EQ(mm.op(), "dense");
  EXPECT_EQ(mm.Get("m"), 256);  // batch folded into rows
  EXPECT_EQ(mm.Get("n"), 512);
  EXPECT_EQ(mm.Get("k"), 256);
  const Workload& gemm = t.tasks[1].workload;
  EXPECT_EQ(gemm.op(), "dense");
  EXPECT_EQ(gemm.json()["trans_b"], true);
  EXPECT_EQ(gemm.Get("n"), 1000);
  EXPECT_NEAR(t.tasks[0].share + t.tasks[1].share, 1.0, 1e-12);
}

TEST(Tasks, BatchedMatMulAndBroadcastA) {
  OnnxModelBuilder b;
  b.Input("q", {1, 4, 128, 64}).Input("k", {1, 4, 64, 128}).Input("s", {128, 64});
  b.Node("MatMul", {"q", "k"}, {"att"});
  b.Node("MatMul", {"s", "k"}, {"shared"});
  b.Output("att").Output("shared");
  TaskList t = TasksOf(b);
  ASSERT_EQ(t.tasks.size(), 2u);
  for (const auto& task : t.tasks) {
    EXPECT_EQ(task.workload.op(), "batch_matmul");
    EXPECT_EQ(task.workload.Get("batch"), 4);
  }
  EXPECT_NE(t.tasks[0].workload.json()["broadcast"], t.tasks[1].workload.json()["broadcast"]);
}

TEST(Tasks, OneDimensionalConvIsConv2dOfHeightOne) {
  OnnxModelBuilder b;
  b.Input("x", {1, 4, 100}).Initializer("w", {8, 4, 5});
  b.Node("Conv", {"x", "w"}, {"y"}).Ints("pads", {2, 2}).Ints("strides", {2});
  b.Output("y");
  TaskList t = TasksOf(b);
  ASSERT_EQ(t.tasks.size(), 1u);
  const Workload& w = t.tasks[0].workload;
  EXPECT_EQ(w.Get("h"), 1);
  EXPECT_EQ(w.Get("kh"), 1);
  EXPECT_EQ(w.Get("w"), 100);
  EXPECT_EQ(w.Get("kw"), 5);
  EXPECT_EQ(w.Get("pad_left"), 2);
  EXPECT_EQ(w.Get("stride_w"), 2);
  EXPECT_EQ(w.Get("stride_h"), 1);
}

TEST(Tasks, UnsupportedOperatorsAreListedNotFatal) {
  OnnxModelBuilder b;
  b.Input("x", {1, 8, 16, 16}).Initializer("w", {8, 8, 1, 1});
  b.Node("Conv", {"x", "w"}, {"a"});
  b.Node("FancyOp", {"a"}, {"b"});
  b.Node("Conv", {"b", "w"}, {"c"}, "after_fancy");
  b.Output("c");
  TaskList t = TasksOf(b);
  EXPECT_EQ(t.unsupported_ops["FancyOp"], 1);
  ASSERT_EQ(t.tasks.size(), 1u);
  ASSERT_EQ(t.skipped.size(), 1u);
  EXPECT_EQ(t.skipped[0].node, "after_fancy");
  EXPECT_NE(t.skipped[0].reason.find("FancyOp"), std::string::npos);
}

}  // namespace
}  // namespace opal
