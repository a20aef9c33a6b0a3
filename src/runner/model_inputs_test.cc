#include "opal/model_inputs.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <set>

#include "opal/onnx_import.h"

namespace opal::runtime {
namespace {

namespace fs = std::filesystem;

std::vector<ModelTensorInfo> Inputs() {
  return {{"pixels", DType::kFloat32, {4, 8}, 128},
          {"input_ids", DType::kInt64, {2, 16}, 256},
          {"attention_mask", DType::kInt64, {2, 16}, 256},
          {"half", DType::kFloat16, {64}, 128}};
}

TEST(ModelInputsTest, RandomDataIsDeterministicAndInRange) {
  auto a = PrepareInputs(Inputs(), {});
  auto b = PrepareInputs(Inputs(), {});
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->tensors.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(a->files[i], "");
    ASSERT_EQ(a->tensors[i].nbytes(), b->tensors[i].nbytes());
    EXPECT_EQ(std::memcmp(a->tensors[i].raw(), b->tensors[i].raw(), a->tensors[i].nbytes()), 0);
  }
  const Tensor& f = a->tensors[0];
  double lo = 1, hi = -1;
  for (int64_t i = 0; i < f.size(); ++i) {
    lo = std::min(lo, f.GetDouble(i));
    hi = std::max(hi, f.GetDouble(i));
  }
  EXPECT_GE(lo, -1.0);
  EXPECT_LT(hi, 1.0);
  EXPECT_LT(lo, -0.5);  // 32 draws spread over the range
  EXPECT_GT(hi, 0.5);
  std::set<int64_t> ids, mask;
  for (int64_t i = 0; i < 32; ++i) ids.insert(a->tensors[1].GetInt(i));
  for (int64_t i = 0; i < 32; ++i) mask.insert(a->tensors[2].GetInt(i));
  EXPECT_EQ(ids, (std::set<int64_t>{0, 1}));
  EXPECT_EQ(mask, (std::set<int64_t>{1}));
  for (int64_t i = 0; i < 64; ++i) {
    EXPECT_GE(a->tensors[3].GetDouble(i), -1.0);
    EXPECT_LT(a->tensors[3].GetDouble(i), 1.0);
  }
  // Another seed, other data.
  Tensor other = RandomInput(Inputs()[0], 99);
  EXPECT_NE(std::memcmp(other.raw(), f.raw(), f.nbytes()), 0);
}

TEST(ModelInputsTest, FilesAreMatchedByNameDtypeAndShape) {
  std::string dir = (fs::temp_directory_path() / "opal_inputs_test.XXXXXX").string();
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  Tensor pixels(DType::kFloat32, {4, 8});
  pixels.SetDouble(3, 0.25);
  ASSERT_TRUE(SaveTensorProtoFile(dir + "/p.pb", pixels, "pixels").ok());
  ASSERT_TRUE(
      SaveTensorProtoFile(dir + "/wrong.pb", Tensor(DType::kFloat32, {8, 4}), "pixels").ok());
  ASSERT_TRUE(SaveTensorProtoFile(dir + "/anon.pb", pixels, "").ok());

  auto specs = ParseInputSpecs({dir + "/p.pb"});  // named by the file's tensor
  ASSERT_TRUE(specs.ok());
  auto p = PrepareInputs(Inputs(), *specs);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->files[0], dir + "/p.pb");
  EXPECT_EQ(p->tensors[0].GetDouble(3), 0.25);
  EXPECT_EQ(p->files[1], "");

  p = PrepareInputs(Inputs(), *ParseInputSpecs({"pixels=" + dir + "/anon.pb"}));
  EXPECT_TRUE(p.ok()) << p.status().message();

  auto expect_error = [&](std::vector<std::string> s, const std::string& text) {
    auto r = PrepareInputs(Inputs(), *ParseInputSpecs(s));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(text), std::string::npos) << r.status().message();
  };
  expect_error({"pixels=" + dir + "/wrong.pb"}, "is float32 8x4, the model takes float32 4x8");
  expect_error({"input_ids=" + dir + "/p.pb"}, "holds tensor 'pixels', not input 'input_ids'");
  expect_error({dir + "/anon.pb"}, "holds an unnamed tensor");
  expect_error({dir + "/p.pb", "pixels=" + dir + "/p.pb"}, "input 'pixels' is given twice");
  expect_error(
      {"nope=" + dir + "/anon.pb"},
      "the model has no input 'nope' (its inputs: pixels, input_ids, attention_mask, half)");
  EXPECT_FALSE(ParseInputSpecs({"=x.pb"}).ok());
  EXPECT_FALSE(ParseInputSpecs({"x="}).ok());
  auto missing = PrepareInputs(Inputs(), *ParseInputSpecs({"pixels=" + dir + "/none.pb"}));
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace opal::runtime
