// Unit tests of the lowerings: single-node models built in memory, evaluated with Halide JIT on
// random inputs, and compared with (a) opal's reference evaluation of the same node (the model
// imported again with the inputs bound, so the importer folds it) and (b) hand-written loops.
#include "lower/lowering.h"

#include <gtest/gtest.h>

#include <random>

#include "graph/graph_test_util.h"
#include "lower/jit_eval.h"
#include "lower/lower_generic_matmul.h"
#include "lower/tensor_compare.h"
#include "opal/tasks.h"
#include "tune/contraction_space.h"

namespace opal::lower {
namespace {

using namespace opal::testing;  // NOLINT
using N = onnx::NodeProto;

Tensor Random(const Shape& s, uint32_t seed, double lo = -2, double hi = 2) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  Tensor t(DType::kFloat32, s);
  for (int64_t i = 0; i < t.size(); ++i) t.SetDouble(i, u(rng));
  return t;
}

// Evaluates `op` on `inputs` (runtime inputs; consts stay initializers) with the lowering
// (LowerNode, or the generic contraction when `generic`).
Result<std::vector<Tensor>> Lowered(const std::string& op, const std::vector<Arg>& args,
                                    const std::vector<Tensor>& inputs, const AttrFn& attrs = {},
                                    int opset = 13, int outputs = 1, bool generic = false) {
  OPAL_ASSIGN_OR_RETURN(Graph g, RunOp(op, args, attrs, opset, outputs));
  return EvaluateGraphJit(g, inputs, LowerOptions{}, nullptr,
                          generic ? NodeLowering(LowerGenericContractionNode) : nullptr);
}

// Checks the lowering of `op` against opal's reference evaluation (constant folding) on random
// float inputs of the given shapes; `consts` are extra constant inputs after them.
void CheckAgainstReference(const std::string& op, const std::vector<Shape>& shapes,
                           const AttrFn& attrs = {}, std::vector<Arg> consts = {}, int opset = 13,
                           bool generic = false) {
  SCOPED_TRACE(op);
  std::vector<Arg> runtime, folded;
  std::vector<Tensor> values;
  for (size_t i = 0; i < shapes.size(); ++i) {
    values.push_back(Random(shapes[i], 17 + static_cast<uint32_t>(i)));
    runtime.push_back(Arg::In(shapes[i]));
    folded.push_back(values.back());
  }
  for (auto& c : consts) {
    runtime.push_back(c);
    folded.push_back(c);
  }
  auto ref = RunOp(op, folded, attrs, opset);
  ASSERT_TRUE(ref.ok()) << ref.status().message();
  const Value& y = Val(*ref, "y0");
  ASSERT_TRUE(y.constant) << op << " was not folded by the reference";
  auto got = Lowered(op, runtime, values, attrs, opset, 1, generic);
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(CompareTensors(got->at(0), *y.constant, 1e-5, 1e-5), "");
}

TEST(Lowering, ElementwiseMatchesReference) {
  for (const char* op : {"Add", "Sub", "Mul", "Div", "Max", "Min", "PRelu"}) {
    CheckAgainstReference(op, {{2, 3, 5}, {3, 1}});  // broadcasting both ways
  }
  for (const char* op : {"Relu", "Exp", "Tanh", "Sigmoid", "Neg", "Abs", "Floor", "Ceil", "Erf",
                         "Softsign", "Softplus", "HardSwish", "Sin", "Cos", "Sign"}) {
    CheckAgainstReference(op, {{3, 7}});
  }
  CheckAgainstReference("LeakyRelu", {{9}}, [](N& n) { AttrFloat(n, "alpha", 0.3f); });
  CheckAgainstReference("Elu", {{9}}, [](N& n) { AttrFloat(n, "alpha", 0.7f); });
  CheckAgainstReference("Sum", {{4, 1}, {5}, {1, 5}});
  CheckAgainstReference("Mean", {{4, 5}, {5}});
  CheckAgainstReference(
      "Clip", {{11}}, {},
      {Arg(Tensor::Scalar(DType::kFloat32, -0.5)), Arg(Tensor::Scalar(DType::kFloat32, 0.75))});
  CheckAgainstReference("BatchNormalization", {{2, 3, 4, 5}, {3}, {3}, {3}}, {},
                        {Arg(Random({3}, 5, 0.5, 2))});
}

TEST(Lowering, WhereAndComparisonsOnIntsAndBools) {
  Tensor cond(DType::kBool, {2, 3}), x(DType::kInt64, {3}), y(DType::kInt64, {2, 1});
  for (int i = 0; i < 6; ++i) cond.SetInt(i, (i * 7) % 3 == 0);
  for (int i = 0; i < 3; ++i) x.SetInt(i, 1000000000000LL * (i + 1));
  y.SetInt(0, -5);
  y.SetInt(1, 9);
  auto got = Lowered("Where", {Arg::In({2, 3}, kBool), Arg::In({3}, kI64), Arg::In({2, 1}, kI64)},
                     {cond, x, y});
  ASSERT_TRUE(got.ok()) << got.status().message();
  for (int i = 0; i < 6; ++i) {
    const int64_t want = cond.GetInt(i) ? x.GetInt(i % 3) : y.GetInt(i / 3);
    EXPECT_EQ(got->at(0).GetInt(i), want) << i;
  }
  got = Lowered("Less", {Arg::In({3}, kI64), Arg::In({2, 1}, kI64)}, {x, y});
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(got->at(0).dtype(), DType::kBool);
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(got->at(0).GetInt(i), x.GetInt(i % 3) < y.GetInt(i / 3) ? 1 : 0) << i;
  }
}

TEST(Lowering, ReductionsAndSoftmaxMatchReference) {
  for (const char* op : {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceL2", "ReduceLogSumExp"}) {
    CheckAgainstReference(
        op, {{3, 5, 7}},
        [](N& n) {
          AttrInts(n, "axes", {-1, 0});
        },
        {}, 12);
    CheckAgainstReference(
        op, {{3, 5, 7}},
        [](N& n) {
          AttrInts(n, "axes", {1});
          AttrInt(n, "keepdims", 0);
        },
        {}, 12);
  }
  // Over trailing axes: contiguous planes (short, with a body and a tail, split over tasks), with
  // and without keepdims, and over every axis (one plane, a scalar without keepdims).
  for (const char* op : {"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin"}) {
    for (const Shape& s : std::vector<Shape>{{2, 6, 9, 11}, {2, 40, 33, 17}}) {
      for (int keep : {1, 0}) {
        CheckAgainstReference(
            op, {s},
            [keep](N& n) {
              AttrInts(n, "axes", {2, -1});
              AttrInt(n, "keepdims", keep);
            },
            {}, 12);
        CheckAgainstReference(
            op, {s}, [keep](N& n) { AttrInt(n, "keepdims", keep); }, {}, 12);
      }
    }
  }
  for (const char* op : {"Softmax", "LogSoftmax"}) {
    CheckAgainstReference(op, {{3, 5, 7}}, [](N& n) { AttrInt(n, "axis", -2); });
    CheckAgainstReference(
        op, {{3, 5, 7}}, [](N& n) { AttrInt(n, "axis", 1); }, {}, 11);
  }
  CheckAgainstReference("ArgMax", {{4, 9}}, [](N& n) { AttrInt(n, "axis", -1); });
  CheckAgainstReference("LayerNormalization", {{2, 3, 10}, {10}, {10}}, {}, {}, 17);
  CheckAgainstReference("InstanceNormalization", {{2, 3, 5, 4}, {3}, {3}});
}

TEST(Lowering, CumSumAlongAConstantAxis) {
  const Tensor x = Random({3, 5}, 9);
  for (int mode = 0; mode < 4; ++mode) {
    const bool exclusive = mode & 1, reverse = mode & 2;
    auto got = Lowered("CumSum", {Arg::In({3, 5}), Arg(I64({-1}, {}))}, {x}, [&](N& n) {
      AttrInt(n, "exclusive", exclusive);
      AttrInt(n, "reverse", reverse);
    });
    ASSERT_TRUE(got.ok()) << got.status().message();
    for (int row = 0; row < 3; ++row) {
      for (int i = 0; i < 5; ++i) {
        double want = 0;
        for (int j = 0; j < 5; ++j) {
          const bool in = reverse ? (exclusive ? j > i : j >= i) : (exclusive ? j < i : j <= i);
          if (in) want += x.GetDouble(row * 5 + j);
        }
        EXPECT_NEAR(got->at(0).GetDouble(row * 5 + i), want, 1e-5) << mode << " " << i;
      }
    }
  }
}

TEST(Lowering, PoolingMatchesReference) {
  CheckAgainstReference("MaxPool", {{1, 2, 9, 11}}, [](N& n) {
    AttrInts(n, "kernel_shape", {3, 3});
    AttrInts(n, "strides", {2, 2});
    AttrInts(n, "pads", {1, 1, 1, 1});
  });
  CheckAgainstReference("AveragePool", {{1, 2, 9, 11}}, [](N& n) {
    AttrInts(n, "kernel_shape", {3, 2});
    AttrInts(n, "pads", {1, 0, 1, 1});
    AttrInt(n, "count_include_pad", 1);
  });
  CheckAgainstReference("AveragePool", {{1, 3, 7, 7}}, [](N& n) {
    AttrInts(n, "kernel_shape", {3, 3});
    AttrString(n, "auto_pad", "SAME_UPPER");
  });
  // Padded windows read a padded copy of the input (PaddedInput): GoogLeNet's 3x3 stride-1
  // MaxPool on 14- and 7-wide planes (rows narrower than a native vector, vectorised with 8 and 4
  // lanes), both AveragePool counts, ceil mode reading past the padded end, and rank 3.
  for (const Shape& s : std::vector<Shape>{{1, 5, 14, 14}, {2, 3, 7, 7}, {1, 2, 28, 28}}) {
    CheckAgainstReference("MaxPool", {s}, [](N& n) {
      AttrInts(n, "kernel_shape", {3, 3});
      AttrInts(n, "pads", {1, 1, 1, 1});
      AttrInt(n, "ceil_mode", 1);
    });
    for (int include : {0, 1}) {
      CheckAgainstReference("AveragePool", {s}, [include](N& n) {
        AttrInts(n, "kernel_shape", {3, 3});
        AttrInts(n, "pads", {1, 1, 1, 1});
        AttrInt(n, "count_include_pad", include);
      });
    }
  }
  CheckAgainstReference("MaxPool", {{1, 3, 13, 13}}, [](N& n) {
    AttrInts(n, "kernel_shape", {3, 3});
    AttrInts(n, "strides", {2, 2});
    AttrInts(n, "pads", {0, 1, 1, 0});
    AttrInt(n, "ceil_mode", 1);
  });
  CheckAgainstReference("AveragePool", {{2, 3, 10}}, [](N& n) {
    AttrInts(n, "kernel_shape", {3});
    AttrInts(n, "pads", {2, 1});
  });
  // Global pools: planes shorter than the vector accumulators, with a body and a tail, split over
  // parallel tasks (with a partial last task), and of rank 3 and 5.
  for (const char* op : {"GlobalAveragePool", "GlobalMaxPool"}) {
    for (const Shape& s : std::vector<Shape>{{2, 3, 5, 6}, {1, 40, 13, 11}, {2, 47, 56, 56}, {2, 5, 100}, {1, 4, 3, 5, 7}})
      CheckAgainstReference(op, {s});
  }
}

// Resize where ONNX's node tests do not reach (their interpolation is checked by
// node_tests_test against the spec's expected outputs): DeepLab's 1x1 -> 14x14 bilinear of a pooled
// branch (two axes read one input pixel, the channel axis is the identity), a nearest x2 upsample
// and a stride-2 nearest downsample (their indices are `x / 2` and `2x`: read without a table) and a Resize
// whose scales are not a graph constant.
TEST(Lowering, ResizeOfOnePixelNearestUpAndDownAndRuntimeScales) {
  const Tensor one = Random({1, 5, 1, 1}, 3);
  auto up = Lowered("Resize", {Arg::In({1, 5, 1, 1}), Arg::None(), Arg::None(), I64({1, 5, 14, 14}, {4})}, {one},
                    [](N& n) { AttrString(n, "mode", "linear"); });
  ASSERT_TRUE(up.ok()) << up.status().message();
  ASSERT_EQ(up->at(0).shape(), (Shape{1, 5, 14, 14}));
  for (int64_t i = 0; i < up->at(0).size(); ++i)
    ASSERT_NEAR(up->at(0).GetDouble(i), one.GetDouble(i / 196), 1e-6) << i;  // weights summing to 1
  const Tensor x = Random({2, 3, 5, 7}, 4);
  for (const char* transform : {"asymmetric", "half_pixel"}) {
    SCOPED_TRACE(transform);
    auto two = Lowered("Resize", {Arg::In({2, 3, 5, 7}), Arg::None(), F32({1, 1, 2, 2}, {4})}, {x},
                       [transform](N& n) {
                         AttrString(n, "coordinate_transformation_mode", transform);
                         AttrString(n, "nearest_mode", std::string(transform) == "asymmetric" ? "floor" : "round_prefer_floor");
                       });
    ASSERT_TRUE(two.ok()) << two.status().message();
    ASSERT_EQ(two->at(0).shape(), (Shape{2, 3, 10, 14}));
    // Asymmetric with floor: output (y, x) reads (y/2, x/2); half-pixel rounding ties down:
    // y/2 - 1/4 rounds to the same pixel.
    for (int64_t p = 0; p < 6; ++p)
      for (int64_t y = 0; y < 10; ++y)
        for (int64_t c = 0; c < 14; ++c)
          ASSERT_EQ(two->at(0).GetDouble((p * 10 + y) * 14 + c), x.GetDouble((p * 5 + y / 2) * 7 + c / 2))
              << p << " " << y << " " << c;
  }
  auto half = Lowered("Resize", {Arg::In({2, 3, 5, 7}), Arg::None(), F32({1, 1, 0.5, 0.5}, {4})}, {x},
                      [](N& n) { AttrString(n, "coordinate_transformation_mode", "asymmetric"); });
  ASSERT_TRUE(half.ok()) << half.status().message();
  ASSERT_EQ(half->at(0).shape(), (Shape{2, 3, 2, 3}));
  for (int64_t p = 0; p < 6; ++p)
    for (int64_t y = 0; y < 2; ++y)
      for (int64_t c = 0; c < 3; ++c)  // round_prefer_floor of 2y, 2c: exactly 2y, 2c
        ASSERT_EQ(half->at(0).GetDouble((p * 2 + y) * 3 + c), x.GetDouble((p * 5 + 2 * y) * 7 + 2 * c));
  // The kernel against the reference evaluation (EvalResize, constant folding): the two share
  // ResolveResize / ResizeAxis but not their arithmetic.
  CheckAgainstReference("Resize", {{1, 2, 5, 6}}, [](N& n) { AttrString(n, "mode", "linear"); },
                        {Arg::None(), F32({1, 1, 1.5, 1.7f}, {4})});
  CheckAgainstReference("Resize", {{1, 2, 9, 7}}, [](N& n) {
    AttrString(n, "mode", "cubic");
    AttrString(n, "coordinate_transformation_mode", "align_corners");
  }, {Arg::None(), F32({1, 1, 0.6f, 0.8f}, {4})});
  CheckAgainstReference("Resize", {{2, 3, 4, 5}}, [](N& n) {
    AttrString(n, "nearest_mode", "round_prefer_ceil");
    AttrString(n, "coordinate_transformation_mode", "tf_half_pixel_for_nn");
  }, {Arg::None(), Arg::None(), I64({2, 3, 7, 3}, {4})});
  CheckAgainstReference("Resize", {{1, 1, 6, 6}}, [](N& n) {
    AttrString(n, "mode", "linear");
    AttrString(n, "coordinate_transformation_mode", "tf_crop_and_resize");
    AttrFloat(n, "extrapolation_value", 7.5f);
  }, {F32({0, 0, -0.2f, 0.1f, 1, 1, 0.8f, 1.3f}, {8}), Arg::None(), I64({1, 1, 5, 4}, {4})});
  auto runtime = Lowered("Resize", {Arg::In({1, 1, 2, 2}), Arg::None(), Arg::In({4})}, {Random({1, 1, 2, 2}, 5), F32({1, 1, 2, 2}, {4})});
  ASSERT_FALSE(runtime.ok());
  EXPECT_EQ(runtime.status().code(), ErrorCode::kUnsupported);
  EXPECT_NE(runtime.status().message().find("scales must be a constant"), std::string::npos) << runtime.status().message();
}

// Convs whose outer taps read only padding lose them at import (graph/conv_taps.h); the kernel
// of the smaller conv against the reference evaluation of the original (folded before the taps
// are dropped): whole rows dropped, rows and columns, and a dilation the input partly reaches.
TEST(Lowering, ConvWithDeadTapsMatchesReference) {
  for (int64_t d : {3, 5, 2}) {
    SCOPED_TRACE(d);
    CheckAgainstReference("Conv", {{1, 4, 3, 5}}, [d](N& n) {
      AttrInts(n, "dilations", {d, d});
      AttrInts(n, "pads", {d, d, d, d});
    }, {Random({6, 4, 3, 3}, 9), Random({6}, 10)});
  }
  CheckAgainstReference("Conv", {{1, 4, 6, 6}}, [](N& n) {  // stride 2, asymmetric pads
    AttrInts(n, "dilations", {4, 4});
    AttrInts(n, "strides", {2, 2});
    AttrInts(n, "pads", {4, 2, 3, 4});
  }, {Random({6, 4, 3, 3}, 11)});
}

TEST(Lowering, DataMovementMatchesReference) {
  CheckAgainstReference("Transpose", {{2, 3, 5}}, [](N& n) { AttrInts(n, "perm", {1, 2, 0}); });
  CheckAgainstReference("Concat", {{2, 3}, {2, 5}, {2, 1}}, [](N& n) { AttrInt(n, "axis", -1); });
  CheckAgainstReference("Gather", {{5, 4}}, [](N& n) { AttrInt(n, "axis", 1); },
                        {Arg(I64({-1, 0, 2, -4, 3, 1}, {2, 3}))});
  CheckAgainstReference("Slice", {{6, 7}}, {},
                        {Arg(I64({-1, 1}, {2})), Arg(I64({-100, 7}, {2})), Arg(I64({0, 1}, {2})),
                         Arg(I64({-2, 3}, {2}))});
  CheckAgainstReference("Pad", {{3, 4}}, [](N& n) { AttrString(n, "mode", "reflect"); },
                        {Arg(I64({2, 1, 1, 3}, {4}))});
  CheckAgainstReference("Pad", {{3, 4}}, [](N& n) { AttrString(n, "mode", "edge"); },
                        {Arg(I64({0, 2, 1, 0}, {4}))});
  CheckAgainstReference("Tile", {{2, 3}}, {}, {Arg(I64({2, 3}, {2}))});
  CheckAgainstReference("Expand", {{3, 1}}, {}, {Arg(I64({2, 3, 4}, {3}))});
}

TEST(Lowering, SplitWritesEveryOutput) {
  const Tensor x = Random({2, 7}, 3);
  auto got = Lowered(
      "Split", {Arg::In({2, 7}), Arg(I64({3, 4}, {2}))}, {x}, [](N& n) { AttrInt(n, "axis", -1); },
      13, 2);
  ASSERT_TRUE(got.ok()) << got.status().message();
  ASSERT_EQ(got->size(), 2u);
  for (int r = 0; r < 2; ++r) {
    for (int c = 0; c < 7; ++c) {
      const Tensor& part = (*got)[c < 3 ? 0 : 1];
      const int width = c < 3 ? 3 : 4;
      EXPECT_EQ(part.GetDouble(r * width + (c < 3 ? c : c - 3)), x.GetDouble(r * 7 + c));
    }
  }
}

TEST(Lowering, MatMulBroadcastsBatchDims) {
  const Tensor a = Random({2, 1, 3, 5}, 1), b = Random({4, 5, 6}, 2);
  auto got = Lowered("MatMul", {Arg::In({2, 1, 3, 5}), Arg::In({4, 5, 6})}, {a, b}, {}, 13, 1,
                     /*generic=*/true);
  ASSERT_TRUE(got.ok()) << got.status().message();
  const Tensor& y = got->at(0);
  ASSERT_EQ(y.shape(), (Shape{2, 4, 3, 6}));
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 4; ++j)
      for (int m = 0; m < 3; ++m)
        for (int n = 0; n < 6; ++n) {
          double s = 0;
          for (int k = 0; k < 5; ++k) {
            s += a.GetDouble((i * 3 + m) * 5 + k) * b.GetDouble((j * 5 + k) * 6 + n);
          }
          EXPECT_NEAR(y.GetDouble(((i * 4 + j) * 3 + m) * 6 + n), s, 1e-4);
        }
}

TEST(Lowering, ConvWithGroupsStridesAndPads) {
  // x [1, 4, 6, 7], w [6, 2, 3, 3], groups 2, stride 2, pads 1, bias.
  const Tensor x = Random({1, 4, 6, 7}, 4), w = Random({6, 2, 3, 3}, 5), bias = Random({6}, 6);
  auto attrs = [](N& n) {
    AttrInt(n, "group", 2);
    AttrInts(n, "strides", {2, 2});
    AttrInts(n, "pads", {1, 1, 1, 1});
  };
  auto got = Lowered("Conv", {Arg::In({1, 4, 6, 7}), Arg::In({6, 2, 3, 3}), Arg::In({6})},
                     {x, w, bias}, attrs, 13, 1, /*generic=*/true);
  ASSERT_TRUE(got.ok()) << got.status().message();
  const Tensor& y = got->at(0);
  ASSERT_EQ(y.shape(), (Shape{1, 6, 3, 4}));
  for (int m = 0; m < 6; ++m)
    for (int oy = 0; oy < 3; ++oy)
      for (int ox = 0; ox < 4; ++ox) {
        double s = bias.GetDouble(m);
        for (int c = 0; c < 2; ++c)
          for (int ky = 0; ky < 3; ++ky)
            for (int kx = 0; kx < 3; ++kx) {
              const int iy = oy * 2 + ky - 1, ix = ox * 2 + kx - 1, ci = (m / 3) * 2 + c;
              if (iy < 0 || iy >= 6 || ix < 0 || ix >= 7) continue;
              s += x.GetDouble((ci * 6 + iy) * 7 + ix) *
                   w.GetDouble(((m * 2 + c) * 3 + ky) * 3 + kx);
            }
        EXPECT_NEAR(y.GetDouble((m * 3 + oy) * 4 + ox), s, 1e-4);
      }
}

TEST(Lowering, DepthwiseConvMatchesReference) {
  // The depthwise kernel (lower_depthwise.cc): planes narrower and wider than a vector, strides,
  // asymmetric and zero padding, dilation, an input the outputs do not read to its end.
  struct Case {
    int c, h, w, k, stride, dil;
    std::vector<int64_t> pads;
  };
  for (const Case& t : std::vector<Case>{{3, 7, 5, 3, 1, 1, {1, 1, 1, 1}},
                                         {4, 14, 14, 3, 1, 1, {1, 1, 1, 1}},
                                         {5, 19, 37, 3, 2, 1, {1, 1, 1, 1}},
                                         {2, 12, 33, 5, 2, 1, {2, 0, 1, 2}},
                                         {3, 9, 20, 3, 1, 2, {0, 0, 0, 0}},
                                         {2, 16, 16, 3, 2, 1, {0, 0, 1, 1}},
                                         // narrower than a vector, stride 1
                                         {4, 7, 7, 5, 1, 1, {2, 2, 2, 2}},
                                         {3, 6, 6, 3, 1, 1, {0, 1, 2, 0}},
                                         {2, 5, 7, 5, 1, 1, {2, 2, 2, 2}},
                                         // at most half a vector wide (these tests lower with 8
                                         // lanes): on the flattened padded plane
                                         {4, 4, 4, 3, 1, 1, {1, 1, 1, 1}},
                                         {2, 6, 3, 3, 1, 1, {1, 1, 1, 1}},
                                         {5, 4, 4, 5, 1, 1, {2, 2, 2, 2}},
                                         {3, 5, 4, 3, 1, 1, {0, 1, 2, 0}},
                                         // stride 2 onto a plane narrower than a vector: on
                                         // the flattened stride phases (5x5, asymmetric pads,
                                         // none, an input not read to its end)
                                         {6, 14, 14, 3, 2, 1, {1, 1, 1, 1}},
                                         {3, 13, 11, 5, 2, 1, {2, 1, 2, 2}},
                                         {2, 9, 12, 3, 2, 1, {0, 0, 0, 0}},
                                         {4, 6, 6, 3, 2, 1, {1, 1, 0, 0}}}) {
    SCOPED_TRACE(::testing::Message() << "c" << t.c << " " << t.h << "x" << t.w << " k" << t.k << " s"
                                      << t.stride << " d" << t.dil);
    auto attrs = [&](N& n) {
      AttrInt(n, "group", t.c);
      AttrInts(n, "strides", {t.stride, t.stride});
      AttrInts(n, "dilations", {t.dil, t.dil});
      AttrInts(n, "pads", t.pads);
    };
    CheckAgainstReference("Conv", {{1, t.c, t.h, t.w}, {t.c, 1, t.k, t.k}}, attrs);
  }
}

TEST(Lowering, ConvVectorisedOverChannelsReadsRuntimeWeights) {
  // A chan config (weights packed ahead of time by the builder) for a conv whose weights are a
  // runtime input: the kernel reads them in the ONNX layout. Groups 2 (12 channels each), pads;
  // the pixels gathered, materialised, or read on the padded grid, each with and without a cache
  // tile.
  auto attrs = [](N& n) {
    AttrInt(n, "group", 2);
    AttrInts(n, "pads", {1, 1, 1, 1});
  };
  const std::vector<Tensor> values = {Random({1, 6, 5, 7}, 7), Random({24, 3, 3, 3}, 8), Random({24}, 9)};
  auto g = RunOp("Conv", {Arg::In({1, 6, 5, 7}), Arg::In({24, 3, 3, 3}), Arg::In({24})}, attrs);
  ASSERT_TRUE(g.ok()) << g.status().message();
  auto wl = WorkloadOfNode(*g, g->node(0));
  ASSERT_TRUE(wl.ok() && wl->has_value());
  const Target host = Target::DetectHost();
  std::vector<Config> chan;
  for (const Config& c : tune::ContractionSeeds(**wl, host))
    if (c.knobs.count("chan") && c.Get("chan") == 1) chan.push_back(c);
  ASSERT_EQ(chan.size(), 6u);
  auto ref = RunOp("Conv", {values[0], values[1], values[2]}, attrs);
  ASSERT_TRUE(ref.ok()) << ref.status().message();
  for (const Config& c : chan) {
    SCOPED_TRACE(c.CanonicalJson());
    LowerOptions lo;
    lo.config = &c;
    auto got = EvaluateGraphJit(*g, values, lo);
    ASSERT_TRUE(got.ok()) << got.status().message();
    EXPECT_EQ(CompareTensors(got->at(0), *Val(*ref, "y0").constant, 1e-5, 1e-5), "");
  }
}

TEST(Lowering, GemmTransposesAndScales) {
  CheckAgainstReference(
      "Gemm", {{5, 3}, {4, 5}, {4}},
      [](N& n) {
        AttrInt(n, "transA", 1);
        AttrInt(n, "transB", 1);
        AttrFloat(n, "alpha", 0.5f);
        AttrFloat(n, "beta", 2.0f);
      },
      {}, 13, /*generic=*/true);
  CheckAgainstReference("Gemm", {{3, 5}, {5, 4}, {3, 1}}, {}, {}, 13, /*generic=*/true);
}

TEST(Lowering, GenericMatMulHandlesVectors) {
  CheckAgainstReference("MatMul", {{5}, {2, 5, 3}}, {}, {}, 13, /*generic=*/true);
  CheckAgainstReference("MatMul", {{2, 3, 5}, {5}}, {}, {}, 13, /*generic=*/true);
  CheckAgainstReference("MatMul", {{5}, {5}}, {}, {}, 13, /*generic=*/true);
  CheckAgainstReference("MatMul", {{3, 17}, {17, 20}}, {}, {}, 13, /*generic=*/true);
}

TEST(Lowering, GenericConvDilatedSameUpper1D) {
  CheckAgainstReference(
      "Conv", {{2, 3, 19}, {4, 3, 3}},
      [](N& n) {
        AttrInts(n, "dilations", {2});
        AttrString(n, "auto_pad", "SAME_UPPER");
      },
      {}, 13, /*generic=*/true);
}

TEST(Lowering, KernelDefFollowsTheConventions) {
  auto g = RunOp("Add", {Arg::In({2, 3}), Arg::In({3})});
  ASSERT_TRUE(g.ok()) << g.status().message();
  const Node& n = g->node(0);
  EXPECT_FALSE(IsAliasNode(*g, n));
  auto k = LowerNode(*g, n, LowerOptions{});
  ASSERT_TRUE(k.ok()) << k.status().message();
  ASSERT_EQ(k->inputs.size(), 2u);
  EXPECT_EQ(k->input_values, n.inputs);
  EXPECT_EQ(k->output_values, n.outputs);
  ASSERT_EQ(k->output_views.size(), 1u);
  ASSERT_EQ(k->output_views[0].dims.size(), 2u);
  EXPECT_EQ(k->output_views[0].dims[0].extent, 3);  // dim 0 is the innermost ONNX dim
  EXPECT_EQ(k->output_views[0].dims[1].stride, 3);
  EXPECT_EQ(k->kind, "elementwise");
}

TEST(Lowering, AliasesAndUnsupportedOps) {
  auto g = RunOp("Reshape", {Arg::In({2, 6}), I64({3, 4}, {2})});
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_TRUE(IsAliasNode(*g, g->node(0)));
  g = RunOp("NonZero", {Arg::In({4})});
  if (g.ok() && g->num_nodes() == 1) {
    auto k = LowerNode(*g, g->node(0), LowerOptions{});
    ASSERT_FALSE(k.ok());
    EXPECT_EQ(k.status().code(), ErrorCode::kUnsupported);
    EXPECT_NE(k.status().message().find("NonZero"), std::string::npos) << k.status().message();
  }
  g = RunOp(
      "MaxPool", {Arg::In({1, 1, 4, 4})},
      [](N& n) {
        AttrInts(n, "kernel_shape", {2, 2});
      },
      13, 2);
  ASSERT_TRUE(g.ok()) << g.status().message();
  auto k = LowerNode(*g, g->node(0), LowerOptions{});
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.status().code(), ErrorCode::kUnsupported);
  EXPECT_NE(k.status().message().find("Indices"), std::string::npos) << k.status().message();
  // Dropout: inference, or training mode with a ratio of 0 (Swin's attention dropout, p = 0, is
  // exported in training mode), passes its input through; a real training-mode dropout is refused.
  const Tensor yes = [] {
    Tensor t(DType::kBool, {});
    t.SetInt(0, 1);
    return t;
  }();
  for (float ratio : {0.f, 0.1f}) {
    g = RunOp("Dropout", {Arg::In({2, 3}), F32({ratio}, {}), yes});
    ASSERT_TRUE(g.ok()) << g.status().message();
    EXPECT_EQ(IsAliasNode(*g, g->node(0)), ratio == 0) << ratio;
    EXPECT_EQ(DropoutPassesThrough(*g, g->node(0)), ratio == 0) << ratio;
    k = LowerNode(*g, g->node(0), LowerOptions{});
    EXPECT_EQ(k.ok(), ratio == 0) << ratio << " " << k.status().message();
  }
  g = RunOp("Dropout", {Arg::In({2, 3}), F32({0.5f}, {})});
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_TRUE(IsAliasNode(*g, g->node(0)));  // no training_mode: inference
}

}  // namespace
}  // namespace opal::lower
