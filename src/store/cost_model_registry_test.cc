// The cost-model registry on SQLite and PostgreSQL: round trip of the text, refusal to overwrite
// without replace, newest-by-framework lookup, bad names, corruption detection, removal.
#include "opal/cost_model_registry.h"

#include <gtest/gtest.h>

#include <thread>

#include "opal/hash.h"
#include "store/sql_session.h"
#include "store/store_test_util.h"

namespace opal::store::testing {
namespace {

RegisteredCostModel Model(const std::string& name, const std::string& framework, const std::string& body) {
  RegisteredCostModel m;
  m.name = name;
  m.framework = framework;
  m.feature_version = "fv-" + framework;
  m.meta = {{"rows", 123}, {"targets", {"cpu-x86_64-avx2-aaaa"}}};
  m.body = body;
  return m;
}

class Registry : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    auto dsn = FreshDsn(GetParam());
    ASSERT_TRUE(dsn.ok()) << dsn.status().message();
    dsn_ = *dsn;
    auto r = CostModelRegistry::Open(dsn_);
    ASSERT_TRUE(r.ok()) << r.status().message();
    reg_ = std::move(*r);
  }
  std::string dsn_;
  std::unique_ptr<CostModelRegistry> reg_;
};

TEST_P(Registry, RoundTripKeepsTheTextAndTheFacts) {
  // A body with quotes, newlines, unicode and 200 KB of data comes back byte for byte.
  std::string body = "{\"format\":\"opal.costmodel/1\",\"x\":\"a'b\\\"c\\n\xc3\xa9\"}\n" + std::string(200000, 'z');
  ASSERT_TRUE(reg_->Put(Model("resnet-cm", "halide", body), false).ok());
  auto got = reg_->Get("resnet-cm");
  ASSERT_TRUE(got.ok()) << got.status().message();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->body, body);
  EXPECT_EQ((*got)->sha256, Sha256Hex(body));
  EXPECT_EQ((*got)->framework, "halide");
  EXPECT_EQ((*got)->feature_version, "fv-halide");
  EXPECT_EQ((*got)->meta["rows"], 123);
  EXPECT_GT((*got)->created_us, 0);
  auto none = reg_->Get("absent");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST_P(Registry, ANameIsNotOverwrittenUnlessReplaceIsAsked) {
  ASSERT_TRUE(reg_->Put(Model("m", "halide", "one"), false).ok());
  Status again = reg_->Put(Model("m", "halide", "two"), false);
  EXPECT_FALSE(again.ok());
  EXPECT_NE(again.message().find("--replace"), std::string::npos) << again.message();
  EXPECT_EQ((*reg_->Get("m"))->body, "one");
  ASSERT_TRUE(reg_->Put(Model("m", "halide", "two"), true).ok());
  EXPECT_EQ((*reg_->Get("m"))->body, "two");
  EXPECT_EQ(reg_->List()->size(), 1u);
}

TEST_P(Registry, EmptyNameGivesTheNewestOfTheFramework) {
  ASSERT_TRUE(reg_->Put(Model("old-halide", "halide", "a"), false).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_TRUE(reg_->Put(Model("new-halide", "halide", "b"), false).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_TRUE(reg_->Put(Model("other", "cuda", "c"), false).ok());
  EXPECT_EQ((*reg_->Get("", "halide"))->name, "new-halide");
  EXPECT_EQ((*reg_->Get("", ""))->name, "other");
  EXPECT_FALSE(reg_->Get("", "tvm")->has_value());
  auto all = reg_->List();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].name, "other");
  EXPECT_TRUE((*all)[0].body.empty()) << "List leaves bodies out";
}

TEST_P(Registry, BadNamesAndEmptyModelsAreRefused) {
  for (const std::string& bad : {std::string(""), std::string("a b"), std::string("x;drop"), std::string(129, 'a')}) {
    Status s = reg_->Put(Model(bad, "halide", "body"), false);
    EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument) << "name '" << bad << "'";
  }
  EXPECT_EQ(reg_->Put(Model("ok", "halide", ""), false).code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(reg_->List()->empty());
}

TEST_P(Registry, ACorruptedBodyIsReportedNotReturned) {
  ASSERT_TRUE(reg_->Put(Model("m", "halide", "original"), false).ok());
  auto db = OpenSqlSession(dsn_);
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->Query("UPDATE cost_models SET body = 'tampered' WHERE name = 'm'").ok());
  auto got = reg_->Get("m");
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("corrupted"), std::string::npos) << got.status().message();
}

TEST_P(Registry, RemoveDeletesOnlyThatName) {
  ASSERT_TRUE(reg_->Put(Model("a", "halide", "1"), false).ok());
  ASSERT_TRUE(reg_->Put(Model("b", "halide", "2"), false).ok());
  EXPECT_TRUE(*reg_->Remove("a"));
  EXPECT_FALSE(*reg_->Remove("a"));
  EXPECT_FALSE(reg_->Get("a")->has_value());
  EXPECT_TRUE(reg_->Get("b")->has_value());
}

INSTANTIATE_TEST_SUITE_P(Backends, Registry, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace opal::store::testing
