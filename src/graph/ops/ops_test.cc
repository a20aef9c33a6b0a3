// Shape inference and constant folding of the data-movement families: shape ops, Concat/Split,
// indexing, Pad, constants (pooling, reductions and normalizations are in nn_ops_test.cc).
#include <gtest/gtest.h>

#include <limits>

#include "graph/graph_test_util.h"
#include "graph/op_registry.h"

namespace opal {
namespace {

using namespace opal::testing;  // NOLINT
using V = std::vector<double>;
using N = onnx::NodeProto;

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

// ---- Reshape, Flatten, Squeeze, Unsqueeze, Transpose -------------------------------------------

TEST(ShapeOps, ReshapeCopiesZeroAndInfersMinusOne) {
  auto g = RunOp("Reshape", {Iota({2, 3, 4}), I64({0, -1}, {2})});
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(ShapeOf(*g, "y0"), "2x12");
  EXPECT_EQ(Folded(*g, "y0")[13], 13.0);
  g = RunOp("Reshape", {Arg::In({2, 3, 4}), I64({4, 0, -1}, {3})});  // 0 copies dim 1
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(ShapeOf(*g, "y0"), "4x3x2");
}

TEST(ShapeOps, ReshapeAllowZeroKeepsZero) {
  auto g = RunOp(
      "Reshape", {Tensor(DType::kFloat32, {0, 3}), I64({3, 0}, {2})},
      [](N& n) { AttrInt(n, "allowzero", 1); }, 14);
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(ShapeOf(*g, "y0"), "3x0");
}

TEST(ShapeOps, ReshapeBeforeOpset5ReadsTheAttribute) {
  auto g = RunOp(
      "Reshape", {Arg::In({6})},
      [](N& n) {
        AttrInts(n, "shape", {3, -1});
      },
      4);
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(ShapeOf(*g, "y0"), "3x2");
}

TEST(ShapeOps, ReshapeErrors) {
  ExpectError(RunOp("Reshape", {Arg::In({2, 3}), I64({-1, -1}, {2})}), ErrorCode::kInvalidModel,
              "more than one -1");
  ExpectError(RunOp("Reshape", {Arg::In({2, 3}), I64({4, 2}, {2})}), ErrorCode::kInvalidModel,
              "cannot reshape 2x3");
  ExpectError(RunOp("Reshape", {Arg::In({2, 3}), I64({-2, 3}, {2})}), ErrorCode::kInvalidModel,
              "negative dimension -2");
  // A shape computed at run time: opal cannot know the output shape, and says which tensor.
  auto r = RunOp("Reshape", {Arg::In({2, 3}), Arg::In({2}, kI64)});
  ExpectError(r, ErrorCode::kUnsupported, "'i1'");
  EXPECT_NE(r.status().message().find("Reshape"), std::string::npos) << r.status().message();
}

TEST(ShapeOps, Flatten) {
  auto flat = [](int64_t axis) {
    auto g = RunOp("Flatten", {Arg::In({2, 3, 4, 5})}, [axis](N& n) { AttrInt(n, "axis", axis); });
    return g.ok() ? ShapeOf(*g, "y0") : g.status().message();
  };
  EXPECT_EQ(flat(0), "1x120");
  EXPECT_EQ(flat(2), "6x20");
  EXPECT_EQ(flat(4), "120x1");
  EXPECT_EQ(flat(-1), "24x5");
  EXPECT_NE(flat(5).find("axis 5 is out of range"), std::string::npos);
}

TEST(ShapeOps, SqueezeAxesAttributeBeforeOpset13AndInputFrom13) {
  auto g = RunOp(
      "Squeeze", {Arg::In({1, 3, 1, 2})}, [](N& n) { AttrInts(n, "axes", {0}); }, 11);
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(ShapeOf(*g, "y0"), "3x1x2");
  g = RunOp("Squeeze", {Arg::In({1, 3, 1, 2}), I64({-2}, {1})});
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(ShapeOf(*g, "y0"), "1x3x2");
  g = RunOp("Squeeze", {Iota({1, 3, 1, 2})});  // no axes: every 1 goes
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(ShapeOf(*g, "y0"), "3x2");
  EXPECT_EQ(Folded(*g, "y0"), (V{0, 1, 2, 3, 4, 5}));
  ExpectError(RunOp("Squeeze", {Arg::In({1, 3}), I64({1}, {1})}), ErrorCode::kInvalidModel,
              "cannot squeeze axis 1 of size 3");
  ExpectError(RunOp("Squeeze", {Arg::In({1, 3}), I64({2}, {1})}), ErrorCode::kInvalidModel,
              "out of range");
}

TEST(ShapeOps, UnsqueezeAxes) {
  auto g = RunOp(
      "Unsqueeze", {Arg::In({3, 4})},
      [](N& n) {
        AttrInts(n, "axes", {0, 3});
      },
      11);
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(ShapeOf(*g, "y0"), "1x3x4x1");
  g = RunOp("Unsqueeze", {Arg::In({3, 4}), I64({-1, 1}, {2})});  // unsorted, negative
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(ShapeOf(*g, "y0"), "3x1x4x1");
  ExpectError(RunOp("Unsqueeze", {Arg::In({3}), I64({1, 1}, {2})}), ErrorCode::kInvalidModel,
              "repeat");
  ExpectError(RunOp("Unsqueeze", {Arg::In({3}), I64({2}, {1})}), ErrorCode::kInvalidModel,
              "out of range");
}

TEST(ShapeOps, TransposeValuesAndDefaultPerm) {
  auto g = RunOp("Transpose", {Iota({2, 3})});
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(ShapeOf(*g, "y0"), "3x2");
  EXPECT_EQ(Folded(*g, "y0"), (V{0, 3, 1, 4, 2, 5}));
  g = RunOp("Transpose", {Iota({2, 3, 4})}, [](N& n) { AttrInts(n, "perm", {1, 2, 0}); });
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(ShapeOf(*g, "y0"), "3x4x2");
  EXPECT_EQ(Folded(*g, "y0")[1], 12.0);  // y[0][0][1] = x[1][0][0]
}

TEST(ShapeOps, TransposeBadPerm) {
  ExpectError(RunOp("Transpose", {Arg::In({1, 2, 3, 4})},
                    [](N& n) {
                      AttrInts(n, "perm", {0, 2, 1});
                    }),
              ErrorCode::kInvalidModel, "perm has 3 entries, input rank is 4");
  ExpectError(RunOp("Transpose", {Arg::In({2, 3})},
                    [](N& n) {
                      AttrInts(n, "perm", {1, 1});
                    }),
              ErrorCode::kInvalidModel, "not a permutation");
}

// ---- Shape, Size, Expand, Tile -----------------------------------------------------------------

TEST(ShapeOps, ShapeAndSizeFoldFromShapesAlone) {
  auto g = RunOp("Shape", {Arg::In({2, 3, 4})});
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(Folded(*g, "y0"), (V{2, 3, 4}));
  g = RunOp(
      "Shape", {Arg::In({2, 3, 4})}, [](N& n) { AttrInt(n, "start", -2); }, 15);
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(Folded(*g, "y0"), (V{3, 4}));
  g = RunOp(
      "Shape", {Arg::In({2, 3, 4})},
      [](N& n) {
        AttrInt(n, "start", 1);
        AttrInt(n, "end", 10);  // clamped to the rank
      },
      15);
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(Folded(*g, "y0"), (V{3, 4}));
  g = RunOp("Size", {Arg::In({2, 3, 4})});
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(ShapeOf(*g, "y0"), "scalar");
  EXPECT_EQ(Folded(*g, "y0"), (V{24}));
}

TEST(ShapeOps, ExpandAndTile) {
  auto g = RunOp("Expand", {Iota({3, 1}), I64({2, 1, 2}, {3})});
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(ShapeOf(*g, "y0"), "2x3x2");
  EXPECT_EQ(Folded(*g, "y0"), (V{0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2}));
  ExpectError(RunOp("Expand", {Arg::In({3, 2}), I64({4}, {1})}), ErrorCode::kInvalidModel,
              "cannot be broadcast");
  ExpectError(RunOp("Expand", {Arg::In({3}), I64({-1}, {1})}), ErrorCode::kInvalidModel,
              "negative");
  g = RunOp("Tile", {Iota({2}), I64({3}, {1})});
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(Folded(*g, "y0"), (V{0, 1, 0, 1, 0, 1}));
  ExpectError(RunOp("Tile", {Arg::In({2, 2}), I64({3}, {1})}), ErrorCode::kInvalidModel,
              "repeats has 1 entries, input rank is 2");
}

// ---- Concat, Split -----------------------------------------------------------------------------

TEST(ConcatSplit, ConcatValuesAndErrors) {
  auto g = RunOp("Concat", {Iota({2, 1}), Iota({2, 2})}, [](N& n) { AttrInt(n, "axis", -1); });
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(ShapeOf(*g, "y0"), "2x3");
  EXPECT_EQ(Folded(*g, "y0"), (V{0, 0, 1, 1, 2, 3}));
  ExpectError(
      RunOp("Concat", {Arg::In({2, 1}), Arg::In({3, 2})}, [](N& n) { AttrInt(n, "axis", 1); }),
      ErrorCode::kInvalidModel, "does not fit");
  ExpectError(RunOp("Concat", {Arg::In({2, 1}), Arg::In({2, 2})}), ErrorCode::kInvalidModel,
              "'axis' is required");
  ExpectError(RunOp("Concat", {Arg::In({2}), Arg::In({2})}, [](N& n) { AttrInt(n, "axis", 1); }),
              ErrorCode::kInvalidModel, "out of range");
}

TEST(ConcatSplit, SplitEqualAttributeAndInput) {
  auto g = RunOp("Split", {Iota({6, 2})}, {}, 13, 3);
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(ShapeOf(*g, "y2"), "2x2");
  EXPECT_EQ(Folded(*g, "y1"), (V{4, 5, 6, 7}));
  g = RunOp(
      "Split", {Iota({2, 5})},
      [](N& n) {
        AttrInt(n, "axis", 1);
        AttrInts(n, "split", {2, 3});
      },
      11, 2);
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(ShapeOf(*g, "y1"), "2x3");
  EXPECT_EQ(Folded(*g, "y1"), (V{2, 3, 4, 7, 8, 9}));
  g = RunOp("Split", {Arg::In({5, 2}), I64({1, 4}, {2})}, {}, 13, 2);
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(ShapeOf(*g, "y1"), "4x2");
  ExpectError(RunOp("Split", {Arg::In({5}), I64({1, 3}, {2})}, {}, 13, 2), ErrorCode::kInvalidModel,
              "sums to 4");
  ExpectError(RunOp("Split", {Arg::In({5})}, {}, 13, 2), ErrorCode::kInvalidModel, "equal parts");
  ExpectError(RunOp("Split", {Arg::In({4}), Arg::In({2}, kI64)}, {}, 13, 2),
              ErrorCode::kUnsupported, "'i1'");
}

// ---- Gather, GatherElements, Slice, ArgMax ------------------------------------------------------

TEST(Indexing, GatherAxesAndNegativeIndices) {
  auto g = RunOp("Gather", {Iota({3, 2}), I64({2, -3}, {2})});
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(Folded(*g, "y0"), (V{4, 5, 0, 1}));
  g = RunOp("Gather", {Iota({2, 3}), I64({1, 2, 0, 1}, {2, 2})},
            [](N& n) { AttrInt(n, "axis", 1); });
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(ShapeOf(*g, "y0"), "2x2x2");
  EXPECT_EQ(Folded(*g, "y0"), (V{1, 2, 0, 1, 4, 5, 3, 4}));
  g = RunOp("Gather", {Arg::In({4, 5}), I64({-1}, {})});  // scalar index drops the axis
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(ShapeOf(*g, "y0"), "5");
  ExpectError(RunOp("Gather", {Arg::In({4, 5}), I64({4}, {1})}), ErrorCode::kInvalidModel,
              "index 4 is out of range");
  ExpectError(
      RunOp("Gather", {Arg::In({4, 5}), I64({0}, {1})}, [](N& n) { AttrInt(n, "axis", 2); }),
      ErrorCode::kInvalidModel, "axis 2 is out of range for rank 2");
}

TEST(Indexing, GatherElements) {
  auto g = RunOp("GatherElements", {Iota({2, 2}), I64({0, 0, -1, 0}, {2, 2})},
                 [](N& n) { AttrInt(n, "axis", 1); });
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(Folded(*g, "y0"), (V{0, 0, 3, 2}));
  ExpectError(RunOp("GatherElements", {Arg::In({2, 2}), I64({0}, {1})}), ErrorCode::kInvalidModel,
              "rank");
}

TEST(Indexing, SliceInputsWithClampingAndNegativeSteps) {
  auto g = RunOp("Slice", {Iota({10}), I64({1}, {1}), I64({kMax}, {1})});
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(ShapeOf(*g, "y0"), "9");
  g = RunOp("Slice",
            {Iota({10}), I64({-1}, {1}), I64({-kMax}, {1}), I64({0}, {1}), I64({-3}, {1})});
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(Folded(*g, "y0"), (V{9, 6, 3, 0}));
  g = RunOp("Slice", {Iota({3, 4}), I64({0, 3}, {2}), I64({-1, 0}, {2}), I64({0, 1}, {2}),
                      I64({1, -2}, {2})});
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(ShapeOf(*g, "y0"), "2x2");
  EXPECT_EQ(Folded(*g, "y0"), (V{3, 1, 7, 5}));
  g = RunOp("Slice", {Iota({4}), I64({5}, {1}), I64({10}, {1})});  // start past the end: empty
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(ShapeOf(*g, "y0"), "0");
  ExpectError(RunOp("Slice", {Iota({4}), I64({0}, {1}), I64({2}, {1}), Arg::None(), I64({0}, {1})}),
              ErrorCode::kInvalidModel, "steps must not be 0");
  ExpectError(RunOp("Slice", {Iota({4}), Arg::In({1}, kI64), I64({2}, {1})}),
              ErrorCode::kUnsupported, "'i1'");
}

TEST(Indexing, SliceAttributesBeforeOpset10) {
  auto g = RunOp(
      "Slice", {Iota({3, 4})},
      [](N& n) {
        AttrInts(n, "starts", {1});
        AttrInts(n, "ends", {1000});
        AttrInts(n, "axes", {1});
      },
      9);
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(ShapeOf(*g, "y0"), "3x3");
  EXPECT_EQ(Folded(*g, "y0")[3], 5.0);
}

TEST(Indexing, ArgMaxArgMin) {
  Tensor x = F32({1, 3, 3, 0, 2, 2}, {2, 3});
  auto g = RunOp("ArgMax", {x}, [](N& n) { AttrInt(n, "axis", 1); });
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(ShapeOf(*g, "y0"), "2x1");
  EXPECT_EQ(Folded(*g, "y0"), (V{1, 1}));
  g = RunOp("ArgMax", {x}, [](N& n) {
    AttrInt(n, "axis", -1);
    AttrInt(n, "keepdims", 0);
    AttrInt(n, "select_last_index", 1);
  });
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(ShapeOf(*g, "y0"), "2");
  EXPECT_EQ(Folded(*g, "y0"), (V{2, 2}));
  g = RunOp("ArgMin", {x});
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(Folded(*g, "y0"), (V{1, 1, 1}));
  EXPECT_EQ(Val(*g, "y0").dtype, DType::kInt64);
}

// ---- Pad ---------------------------------------------------------------------------------------

TEST(Pad, ModesAndNegativePads) {
  auto pad = [](const std::string& mode, std::vector<int64_t> pads) {
    return RunOp("Pad", {Iota({3}), I64(pads, {2})}, [mode](N& n) { AttrString(n, "mode", mode); });
  };
  auto g = pad("constant", {2, 1});
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(Folded(*g, "y0"), (V{0, 0, 0, 1, 2, 0}));
  g = pad("reflect", {2, 2});
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(Folded(*g, "y0"), (V{2, 1, 0, 1, 2, 1, 0}));
  g = pad("edge", {1, 2});
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(Folded(*g, "y0"), (V{0, 0, 1, 2, 2, 2}));
  g = pad("constant", {-1, 1});  // negative pads crop
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(Folded(*g, "y0"), (V{1, 2, 0}));
  g = RunOp("Pad", {Iota({2}), I64({1, 0}, {2}), F32({7}, {})});
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(Folded(*g, "y0"), (V{7, 0, 1}));
  ExpectError(pad("mirror", {1, 1}), ErrorCode::kInvalidModel, "unknown mode 'mirror'");
  ExpectError(RunOp("Pad", {Iota({2, 2}), I64({1, 1}, {2})}), ErrorCode::kInvalidModel,
              "pads has 2 entries");
  ExpectError(pad("constant", {-2, -2}), ErrorCode::kInvalidModel, "crop more");
}

TEST(Pad, AttributeFormBeforeOpset11) {
  auto g = RunOp(
      "Pad", {Iota({1, 2})},
      [](N& n) {
        AttrInts(n, "pads", {0, 1, 0, 0});
        AttrFloat(n, "value", 9);
      },
      2);
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(Folded(*g, "y0"), (V{9, 0, 1}));
}

// ---- Constant, ConstantOfShape, Range ----------------------------------------------------------

TEST(Constants, ConstantAttributes) {
  auto g = RunOp("Constant", {}, [](N& n) { AttrInts(n, "value_ints", {4, 5}); });
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(Val(*g, "y0").dtype, DType::kInt64);
  EXPECT_EQ(Folded(*g, "y0"), (V{4, 5}));
  g = RunOp("Constant", {}, [](N& n) { AttrFloat(n, "value_float", 2.5f); });
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(ShapeOf(*g, "y0"), "scalar");
  EXPECT_EQ(Folded(*g, "y0"), (V{2.5}));
  g = RunOp("Constant", {}, [](N& n) { AttrTensor(n, "value", Iota({2, 2})); });
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(Folded(*g, "y0"), (V{0, 1, 2, 3}));
  ExpectError(RunOp("Constant", {}, [](N& n) { AttrString(n, "value_string", "hi"); }),
              ErrorCode::kUnsupported, "string");
  ExpectError(RunOp("Constant", {}), ErrorCode::kInvalidModel, "exactly one value attribute");
}

TEST(Constants, ConstantOfShape) {
  auto g = RunOp("ConstantOfShape", {I64({2, 3}, {2})},
                 [](N& n) { AttrTensor(n, "value", I64({7}, {1})); });
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(ShapeOf(*g, "y0"), "2x3");
  EXPECT_EQ(Val(*g, "y0").dtype, DType::kInt64);
  EXPECT_EQ(Folded(*g, "y0"), V(6, 7.0));
  g = RunOp("ConstantOfShape", {I64({0}, {1})});
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(ShapeOf(*g, "y0"), "0");
  ExpectError(RunOp("ConstantOfShape", {I64({2, -3}, {2})}), ErrorCode::kInvalidModel, "negative");
  ExpectError(RunOp("ConstantOfShape", {Arg::In({2}, kI64)}), ErrorCode::kUnsupported, "'i0'");
}

TEST(Constants, Range) {
  auto g = RunOp("Range", {I64({10}, {}), I64({1}, {}), I64({-4}, {})});
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(Folded(*g, "y0"), (V{10, 6, 2}));
  g = RunOp("Range", {F32({1}, {}), F32({2}, {}), F32({0.25}, {})});
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(Folded(*g, "y0"), (V{1, 1.25, 1.5, 1.75}));
  g = RunOp("Range", {I64({3}, {}), I64({1}, {}), I64({1}, {})});
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(ShapeOf(*g, "y0"), "0");
  ExpectError(RunOp("Range", {I64({0}, {}), I64({5}, {}), I64({0}, {})}), ErrorCode::kInvalidModel,
              "delta must not be 0");
  ExpectError(RunOp("Range", {I64({0}, {}), Arg::In({}, kI64), I64({1}, {})}),
              ErrorCode::kUnsupported, "'i1'");
}

// ---- folding through chains --------------------------------------------------------------------

// The transformer export computes Slice bounds from the input's shape: Shape -> Gather -> Add ->
// Div -> Mul -> Slice must fold to give the Slice a shape.
TEST(Folding, ShapeArithmeticFeedsSlice) {
  ModelBuilder b;
  b.Input("x", kF32, {1, 128, 256});
  b.Init("idx", I64({2}, {}));
  b.Init("one", I64({0}, {}));
  b.Init("two", I64({2}, {}));
  b.Init("start", I64({0}, {1}));
  b.Init("axis", I64({2}, {1}));
  b.Node("Shape", {"x"}, {"s"});
  b.Node("Gather", {"s", "idx"}, {"d"});
  b.Node("Add", {"d", "one"}, {"d1"});
  b.Node("Div", {"d1", "two"}, {"half"});
  b.Node("Mul", {"half", "two"}, {"full"});
  b.Node("Unsqueeze", {"half", "start"}, {"end"});
  b.Node("Slice", {"x", "start", "end", "axis"}, {"y"});
  b.Output("y");
  auto g = b.Import();
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(Folded(*g, "full"), (V{256}));
  EXPECT_EQ(ShapeOf(*g, "y"), "1x128x128");
}

// Swin Transformer pads its windows by (window - H % window) % window, computed with Mod from
// constants: Mod must fold, with the divisor's sign (fmod 0) or the dividend's (fmod 1).
TEST(Folding, ModOfConstantsFoldsWithEitherSign) {
  auto g = RunOp("Mod", {I64({7, -7, 7, -7, 5}, {5}), I64({3, 3, -3, -3, 0}, {5})});
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(Folded(*g, "y0"), (V{1, 2, -2, -1, 0}));
  g = RunOp("Mod", {I64({7, -7, 7, -7}, {4}), I64({3, 3, -3, -3}, {4})}, [](onnx::NodeProto& n) { AttrInt(n, "fmod", 1); });
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(Folded(*g, "y0"), (V{1, -1, 1, -1}));
  g = RunOp("Mod", {F32({5.5f, -5.5f}, {2}), F32({2, 2}, {2})}, [](onnx::NodeProto& n) { AttrInt(n, "fmod", 1); });
  OPAL_ASSERT_OK(g);
  EXPECT_EQ(Folded(*g, "y0"), (V{1.5, -1.5}));
  ModelBuilder b;  // the window padding of a 56-wide plane in 7-wide windows: 0
  b.Init("h", I64({56}, {}));
  b.Init("w", I64({7}, {}));
  b.Node("Mod", {"h", "w"}, {"m"});
  b.Node("Sub", {"w", "m"}, {"s"});
  b.Node("Mod", {"s", "w"}, {"pad"});
  b.Output("pad");
  auto p = b.Import();
  OPAL_ASSERT_OK(p);
  EXPECT_EQ(Folded(*p, "pad"), (V{0}));
}

// DeepLabV3's ASPP: 3x3 convs of dilation 24 and 36 on a 14x14 map read only padding with their
// outer taps, for every output. The importer drops such taps (graph/conv_taps.h): the conv becomes
// 1x1 without padding; a dilation the map can partly reach keeps its kernel. The numbers are the
// lowering tests' (Lowering.ConvWithDeadTapsMatchesReference).
TEST(Import, ConvTapsThatReadOnlyPaddingAreDropped) {
  for (int64_t d : {3, 5, 2}) {
    SCOPED_TRACE(d);
    auto g = RunOp("Conv", {Arg::In({1, 4, 3, 5}), F32(std::vector<float>(6 * 4 * 9, 0.5f), {6, 4, 3, 3})},
                   [d](onnx::NodeProto& n) {
                     AttrInts(n, "dilations", {d, d});
                     AttrInts(n, "pads", {d, d, d, d});
                   });
    OPAL_ASSERT_OK(g);
    const Node& conv = g->node(0);
    EXPECT_EQ(ShapeOf(*g, "y0"), "1x6x3x5");
    const Shape w = g->value(conv.inputs[1]).shape;
    // Rows: 3 high, so a dilation of 3 or more leaves only the middle row; columns: 5 wide, so
    // only a dilation of 5 does.
    const int64_t kh = d >= 3 ? 1 : 3, kw = d >= 5 ? 1 : 3;
    EXPECT_EQ(w, (Shape{6, 4, kh, kw}));
    EXPECT_EQ(conv.attrs.GetInts("pads"), (std::vector<int64_t>{kh == 1 ? 0 : d, kw == 1 ? 0 : d, kh == 1 ? 0 : d, kw == 1 ? 0 : d}));
    EXPECT_EQ(conv.attrs.GetInts("dilations"), (std::vector<int64_t>{kh == 1 ? 1 : d, kw == 1 ? 1 : d}));
  }
}

TEST(Folding, SchemasHaveEvalForEveryOp) {
  for (const auto& op : graph::OpRegistry::Get().OpTypes()) {
    const graph::OpSchema* s = graph::OpRegistry::Get().Find("", op);
    ASSERT_NE(s, nullptr);
    EXPECT_NE(s->eval, nullptr) << op;
  }
}

}  // namespace
}  // namespace opal
