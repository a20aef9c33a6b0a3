// Shape inference and constant folding of pooling, reductions and normalizations.
#include <gtest/gtest.h>

#include <cmath>

#include "graph/graph_test_util.h"

namespace opal {
namespace {

using namespace opal::testing;  // NOLINT
using V = std::vector<double>;
using N = onnx::NodeProto;

void ExpectNear(const V& got, const V& want, double tol = 1e-5) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << "element " << i;
}

// ---- pooling -----------------------------------------------------------------------------------

TEST(Pool, MaxPoolShapesWithPadsStridesDilationsAndCeil) {
  auto shape = [](const AttrFn& f) {
    auto g = RunOp("MaxPool", {Arg::In({1, 3, 32, 32})}, f);
    return g.ok() ? ShapeOf(*g, "y0") : g.status().message();
  };
  EXPECT_EQ(shape([](N& n) { AttrInts(n, "kernel_shape", {3, 3}); }), "1x3x30x30");
  EXPECT_EQ(shape([](N& n) {
              AttrInts(n, "kernel_shape", {3, 3});
              AttrInts(n, "strides", {2, 2});
              AttrInts(n, "pads", {1, 1, 1, 1});
            }),
            "1x3x16x16");
  EXPECT_EQ(shape([](N& n) {
              AttrInts(n, "kernel_shape", {2, 2});
              AttrInts(n, "dilations", {2, 2});
            }),
            "1x3x30x30");
  EXPECT_EQ(shape([](N& n) {
              AttrInts(n, "kernel_shape", {3, 3});
              AttrInts(n, "strides", {2, 2});
              AttrInt(n, "ceil_mode", 1);
            }),
            "1x3x16x16");  // 15 without ceil_mode
  EXPECT_EQ(shape([](N& n) {
              AttrInts(n, "kernel_shape", {3, 3});
              AttrInts(n, "strides", {2, 2});
              AttrString(n, "auto_pad", "SAME_UPPER");
            }),
            "1x3x16x16");
  EXPECT_NE(shape([](N& n) {}).find("'kernel_shape' is required"), std::string::npos);
  EXPECT_NE(shape([](N& n) {
              AttrInts(n, "kernel_shape", {40, 3});
            }).find("larger than the padded input"),
            std::string::npos);
  EXPECT_NE(
      shape([](N& n) { AttrInts(n, "kernel_shape", {3}); }).find("kernel_shape has 1 entries"),
      std::string::npos);
}

TEST(Pool, MaxPoolValuesAndIndices) {
  // x = 0..15 as 1x1x4x4; 2x2 windows, stride 2.
  auto run = [](int64_t order) {
    return RunOp(
        "MaxPool", {Iota({1, 1, 4, 4})},
        [order](N& n) {
          AttrInts(n, "kernel_shape", {2, 2});
          AttrInts(n, "strides", {2, 2});
          AttrInt(n, "storage_order", order);
        },
        12, 2);
  };
  auto g = run(0);
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(Folded(*g, "y0"), (V{5, 7, 13, 15}));
  EXPECT_EQ(Folded(*g, "y1"), (V{5, 7, 13, 15}));
  EXPECT_EQ(Val(*g, "y1").dtype, DType::kInt64);
  g = run(1);  // column-major indices: h + w * H
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(Folded(*g, "y1"), (V{5, 13, 7, 15}));
}

TEST(Pool, AveragePoolCountIncludePad) {
  auto run = [](int64_t include) {
    return RunOp("AveragePool", {F32({1, 2, 3, 4}, {1, 1, 2, 2})}, [include](N& n) {
      AttrInts(n, "kernel_shape", {2, 2});
      AttrInts(n, "pads", {1, 1, 0, 0});
      AttrInt(n, "count_include_pad", include);
    });
  };
  auto g = run(0);
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(ShapeOf(*g, "y0"), "1x1x2x2");
  ExpectNear(Folded(*g, "y0"), {1, 1.5, 2, 2.5});
  g = run(1);
  OPAL_ASSERT_OK(g);
  ExpectNear(Folded(*g, "y0"), {0.25, 0.75, 1, 2.5});
}

TEST(Pool, GlobalPools) {
  auto g = RunOp("GlobalAveragePool", {Iota({1, 2, 2, 2})});
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(ShapeOf(*g, "y0"), "1x2x1x1");
  ExpectNear(Folded(*g, "y0"), {1.5, 5.5});
  g = RunOp("GlobalMaxPool", {Iota({1, 2, 3})});
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(Folded(*g, "y0"), (V{2, 5}));
  ExpectError(RunOp("GlobalAveragePool", {Arg::In({2, 3})}), ErrorCode::kInvalidModel,
              "N x C x spatial");
}

TEST(Pool, LpPool) {
  auto g =
      RunOp("LpPool", {F32({3, 4}, {1, 1, 2})}, [](N& n) { AttrInts(n, "kernel_shape", {2}); });
  OPAL_ASSERT_OK(g);
  ExpectNear(Folded(*g, "y0"), {5});
}

// ---- reductions --------------------------------------------------------------------------------

TEST(Reduce, AxesAttributeBeforeOpset13) {
  auto g = RunOp(
      "ReduceMean", {Iota({2, 3})},
      [](N& n) {
        AttrInts(n, "axes", {-1});
        AttrInt(n, "keepdims", 0);
      },
      11);
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(ShapeOf(*g, "y0"), "2");
  ExpectNear(Folded(*g, "y0"), {1, 4});
  g = RunOp("ReduceMax", {Iota({2, 3})}, {}, 11);  // no axes: everything, keepdims
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(ShapeOf(*g, "y0"), "1x1");
  EXPECT_EQ(Folded(*g, "y0"), (V{5}));
}

TEST(Reduce, ReduceSumAxesInputAndNoop) {
  auto g = RunOp("ReduceSum", {Iota({2, 3}), I64({0}, {1})});
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(ShapeOf(*g, "y0"), "1x3");
  EXPECT_EQ(Folded(*g, "y0"), (V{3, 5, 7}));
  g = RunOp("ReduceSum", {Iota({2, 3}), I64({}, {0})},
            [](N& n) { AttrInt(n, "noop_with_empty_axes", 1); });
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(ShapeOf(*g, "y0"), "2x3");
  EXPECT_EQ(Folded(*g, "y0"), (V{0, 1, 2, 3, 4, 5}));
  g = RunOp("ReduceSum", {Iota({2, 3})}, [](N& n) { AttrInt(n, "keepdims", 0); });
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(ShapeOf(*g, "y0"), "scalar");
  EXPECT_EQ(Folded(*g, "y0"), (V{15}));
  ExpectError(RunOp("ReduceSum", {Arg::In({2, 3}), Arg::In({1}, kI64)}), ErrorCode::kUnsupported,
              "'i1'");
}

TEST(Reduce, EveryKindFolds) {
  Tensor x = F32({1, -2, 3, -4}, {2, 2});
  auto fold = [&](const std::string& op) {
    auto g = RunOp(op, {x}, [](N& n) {
      AttrInts(n, "axes", {1});
      AttrInt(n, "keepdims", 0);
    });
    return g.ok() ? Folded(*g, "y0") : V{};
  };
  ExpectNear(fold("ReduceMin"), {-2, -4});
  ExpectNear(fold("ReduceProd"), {-2, -12});
  ExpectNear(fold("ReduceL1"), {3, 7});
  ExpectNear(fold("ReduceL2"), {std::sqrt(5.0), 5});
  ExpectNear(fold("ReduceSumSquare"), {5, 25});
  ExpectNear(fold("ReduceLogSumExp"),
             {std::log(std::exp(1.0) + std::exp(-2.0)), std::log(std::exp(3.0) + std::exp(-4.0))});
  // LogSumExp of large values does not overflow.
  auto g =
      RunOp("ReduceLogSumExp", {F32({1000, 1000}, {2})}, [](N& n) { AttrInt(n, "keepdims", 0); });
  OPAL_ASSERT_OK(g);
  ExpectNear(Folded(*g, "y0"), {1000 + std::log(2.0)}, 1e-3);
  // Integer reductions are exact.
  g = RunOp("ReduceProd", {I64({3000000, 3000000, 3}, {3})});
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(Val(*g, "y0").constant->GetInt(0), int64_t{27000000000000});
}

TEST(Reduce, BadAxes) {
  ExpectError(RunOp(
                  "ReduceMean", {Arg::In({2, 3})}, [](N& n) { AttrInts(n, "axes", {2}); }, 11),
              ErrorCode::kInvalidModel, "axis 2 is out of range for rank 2");
  ExpectError(RunOp(
                  "ReduceMean", {Arg::In({2, 3})},
                  [](N& n) {
                    AttrInts(n, "axes", {1, -1});
                  },
                  11),
              ErrorCode::kInvalidModel, "repeat");
}

// ---- normalizations ----------------------------------------------------------------------------

TEST(Normalization, SoftmaxAxisSemanticsChangedInOpset13) {
  Tensor x = F32({0, 0, 0, 0}, {2, 2});
  auto g = RunOp(
      "Softmax", {x}, [](N& n) { AttrInt(n, "axis", 0); }, 11);  // one row of 4
  OPAL_ASSERT_OK(g);
  ExpectNear(Folded(*g, "y0"), {0.25, 0.25, 0.25, 0.25});
  g = RunOp(
      "Softmax", {x}, [](N& n) { AttrInt(n, "axis", 0); }, 13);  // columns of 2
  OPAL_ASSERT_OK(g);
  ExpectNear(Folded(*g, "y0"), {0.5, 0.5, 0.5, 0.5});
  g = RunOp("LogSoftmax", {F32({1, 1, 1000, 1000}, {2, 2})});
  OPAL_ASSERT_OK(g);
  ExpectNear(Folded(*g, "y0"), V(4, -std::log(2.0)));
  ExpectError(RunOp("Softmax", {Arg::In({2, 2})}, [](N& n) { AttrInt(n, "axis", 2); }),
              ErrorCode::kInvalidModel, "axis 2 is out of range");
}

TEST(Normalization, BatchNormInferenceAndTraining) {
  Tensor x = F32({1, 2, 3, 4, 5, 6, 7, 8}, {2, 2, 2});  // N=2, C=2, 2 positions
  Tensor scale = F32({1, 2}, {2}), bias = F32({0, 1}, {2}), mean = F32({0, 1}, {2}),
         var = F32({1, 4}, {2});
  auto g = RunOp("BatchNormalization", {x, scale, bias, mean, var},
                 [](N& n) { AttrFloat(n, "epsilon", 0); });
  OPAL_ASSERT_OK(g);
  ExpectNear(Folded(*g, "y0"), {1, 2, 3, 4, 5, 6, 7, 8});
  g = RunOp(
      "BatchNormalization", {x, scale, bias, mean, var},
      [](N& n) {
        AttrFloat(n, "epsilon", 0);
        AttrInt(n, "training_mode", 1);
        AttrFloat(n, "momentum", 0.5f);
      },
      15, 3);
  OPAL_ASSERT_OK(g);
  // Channel 0 holds {1, 2, 5, 6}: mean 3.5, variance 4.25.
  EXPECT_NEAR(Folded(*g, "y0")[0], (1 - 3.5) / std::sqrt(4.25), 1e-5);
  ExpectNear(Folded(*g, "y1"), {1.75, 0.5 * 1 + 0.5 * 5.5});
  ExpectNear(Folded(*g, "y2"), {0.5 + 0.5 * 4.25, 2 + 0.5 * 4.25});
  ExpectError(RunOp("BatchNormalization", {Arg::In({2, 3, 4}), scale, bias, mean, var}),
              ErrorCode::kInvalidModel, "scale must have shape 3");
}

TEST(Normalization, LayerNormWithStatistics) {
  // Rows {1, 3} (mean 2, variance 1) and {2, 6} (mean 4, variance 4).
  auto g = RunOp(
      "LayerNormalization", {F32({1, 3, 2, 6}, {2, 2}), F32({1, 2}, {2}), F32({0, 1}, {2})},
      [](N& n) { AttrFloat(n, "epsilon", 0); }, 17, 3);
  OPAL_ASSERT_OK(g);
  ExpectNear(Folded(*g, "y0"), {-1, 3, -1, 3});
  EXPECT_EQ(ShapeOf(*g, "y1"), "2x1");
  ExpectNear(Folded(*g, "y1"), {2, 4});
  ExpectNear(Folded(*g, "y2"), {1, 0.5});
  EXPECT_EQ(Val(*g, "y2").dtype, DType::kFloat32);
  ExpectError(RunOp("LayerNormalization", {Arg::In({2, 3}), F32({1, 2}, {2})}, {}, 17),
              ErrorCode::kInvalidModel, "does not broadcast to the normalized shape 3");
}

TEST(Normalization, InstanceNorm) {
  auto g = RunOp("InstanceNormalization",
                 {F32({1, 3, 5, 7}, {1, 2, 2}), F32({1, 1}, {2}), F32({0, 1}, {2})},
                 [](N& n) { AttrFloat(n, "epsilon", 0); });
  OPAL_ASSERT_OK(g);
  ExpectNear(Folded(*g, "y0"), {-1, 1, 0, 2});
  ExpectError(RunOp("InstanceNormalization", {Arg::In({1, 2, 2}), F32({1}, {1}), F32({0, 1}, {2})}),
              ErrorCode::kInvalidModel, "scale must have shape 2");
}

}  // namespace
}  // namespace opal
