#include "opal/status.h"

#include <gtest/gtest.h>

namespace opal {
namespace {

Result<int> Half(int x) {
  if (x % 2) return Error(ErrorCode::kInvalidArgument, "{} is odd", x);
  return x / 2;
}

Result<int> Quarter(int x) {
  OPAL_ASSIGN_OR_RETURN(int h, Half(x));
  OPAL_ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

TEST(Status, OkAndError) {
  EXPECT_TRUE(Status().ok());
  Status s = Error(ErrorCode::kInvalidModel, "node {} is bad", "conv1");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "node conv1 is bad");
  EXPECT_EQ(s.WithContext("model.onnx").message(), "model.onnx: node conv1 is bad");
}

TEST(Status, ResultPropagates) {
  EXPECT_EQ(*Quarter(8), 2);
  Result<int> r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "3 is odd");
}

TEST(Status, ResultFromOkStatusIsInternalError) {
  Result<int> r{Status::Ok()};
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInternal);
}

TEST(Status, ExitCodesAreDistinctPerFamily) {
  EXPECT_EQ(ExitCodeFor(ErrorCode::kOk), 0);
  EXPECT_EQ(ExitCodeFor(ErrorCode::kInternal), 1);
  EXPECT_EQ(ExitCodeFor(ErrorCode::kInvalidArgument), 2);
  EXPECT_EQ(ExitCodeFor(ErrorCode::kNotFound), 3);
  EXPECT_EQ(ExitCodeFor(ErrorCode::kInvalidModel), 4);
  EXPECT_EQ(ExitCodeFor(ErrorCode::kUnsupported), 5);
  EXPECT_EQ(ExitCodeFor(ErrorCode::kUnavailable), 6);
  EXPECT_STREQ(ErrorCodeName(ErrorCode::kInvalidModel), "invalid-model");
}

}  // namespace
}  // namespace opal

#include "opal/json.h"

TEST(Json, Utf8Validation) {
  EXPECT_TRUE(opal::IsValidUtf8("conv_1/weights"));
  EXPECT_TRUE(opal::IsValidUtf8("\xC3\xA9t\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
  EXPECT_FALSE(opal::IsValidUtf8("\x9F"));              // stray continuation byte
  EXPECT_FALSE(opal::IsValidUtf8("\xC3"));              // truncated sequence
  EXPECT_FALSE(opal::IsValidUtf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(opal::IsValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(opal::IsValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
}
