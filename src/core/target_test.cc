#include "opal/target.h"

#include <gtest/gtest.h>

namespace opal {
namespace {

TEST(Target, HostIsDetected) {
  Target t = Target::DetectHost();
  EXPECT_EQ(t.kind, "cpu");
  EXPECT_FALSE(t.arch.empty());
  EXPECT_GT(t.cores, 0);
  EXPECT_FALSE(t.model.empty());
#if defined(__x86_64__)
  EXPECT_TRUE(t.HasFeature("sse2"));
  EXPECT_GE(t.VectorBits(), 128);
#endif
}

TEST(Target, CanonicalStringRoundTrips) {
  Target t = Target::DetectHost();
  Result<Target> back = Target::Parse(t.CanonicalString());
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->CanonicalString(), t.CanonicalString());
  EXPECT_EQ(back->ExactKey(), t.ExactKey());
  EXPECT_EQ(back->CoarseKey(), t.CoarseKey());
}

TEST(Target, ExplicitGpuTarget) {
  auto t = Target::Parse("cuda arch=sm_90 cores=132 mem=80G model='NVIDIA H100 80GB HBM3'");
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->memory_bytes, 80LL << 30);
  EXPECT_EQ(t->CoarseKey(), "cuda-sm_90");
  EXPECT_EQ(t->CanonicalString(), "cuda arch=sm_90 cores=132 mem=80G model=\"NVIDIA H100 80GB HBM3\"");
  EXPECT_EQ(t->ExactKey().rfind("cuda-sm_90-", 0), 0u);
}

TEST(Target, KeysSeparateDevices) {
  auto a = Target::Parse("cpu arch=x86_64 cores=2 features=avx2,fma,avx512f l2=1M");
  auto b = Target::Parse("cpu arch=x86_64 cores=4 features=fma,avx512f,avx2 l2=1M");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->CoarseKey(), "cpu-x86_64-avx512");
  EXPECT_EQ(a->CoarseKey(), b->CoarseKey());
  EXPECT_NE(a->ExactKey(), b->ExactKey());
  // Feature order does not matter.
  auto c = Target::Parse("cpu arch=x86_64 cores=2 features=fma,avx512f,avx2 l2=1024K");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(a->ExactKey(), c->ExactKey());
}

TEST(Target, ParseErrorsNameTheProblem) {
  EXPECT_EQ(Target::Parse("").status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(Target::Parse("tpu arch=v4").status().message().find("unknown kind 'tpu'"), std::string::npos);
  EXPECT_NE(Target::Parse("cpu arch=x86_64 color=red").status().message().find("unknown key 'color'"),
            std::string::npos);
  EXPECT_NE(Target::Parse("cpu cores=2").status().message().find("arch="), std::string::npos);
  EXPECT_NE(Target::Parse("cpu arch=x86_64 cores=-1").status().message().find("cores"), std::string::npos);
  EXPECT_NE(Target::Parse("cpu arch=x86_64 l2=big").status().message().find("size"), std::string::npos);
  EXPECT_NE(Target::Parse("cpu arch=x86_64 model='oops").status().message().find("quote"), std::string::npos);
}

}  // namespace
}  // namespace opal
