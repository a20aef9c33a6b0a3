#include "opal/workload.h"

#include <gtest/gtest.h>

#include <set>

namespace opal {
namespace {

Json Conv() {
  return Json::parse(R"({"op":"conv2d","dtype":"float32","layout":"NCHW","n":1,"c":64,"h":56,"w":56,"k":64,
    "kh":3,"kw":3,"stride_h":1,"stride_w":1,"pad_top":1,"pad_left":1,"pad_bottom":1,"pad_right":1,
    "dilation_h":1,"dilation_w":1,"groups":1})");
}

TEST(Workload, ValidConvHasKeyAndFlops) {
  auto w = Workload::FromJson(Conv());
  ASSERT_TRUE(w.ok()) << w.status().message();
  EXPECT_EQ(w->Key().rfind("conv2d-", 0), 0u);
  EXPECT_EQ(w->Key().size(), std::string("conv2d-").size() + 16);
  EXPECT_DOUBLE_EQ(w->Flops(), 2.0 * 64 * 56 * 56 * 64 * 9);
  EXPECT_EQ(w->Summary(), "conv2d 1x64x56x56 -> 64 k3x3 s1 p1 d1 g1");
}

TEST(Workload, ChangingAnyFieldChangesTheKey) {
  const std::string base = Workload::FromJson(Conv())->Key();
  std::set<std::string> keys = {base};
  const Json conv = Conv();
  for (const auto& [field, value] : conv.items()) {
    if (field == "op") continue;
    Json changed = Conv();
    if (value.is_string()) {
      changed[field] = field == "dtype" ? "float16" : "NCHW";
      if (field == "layout") continue;  // the only layout there is
    } else if (field == "groups") {
      changed[field] = 2;  // must divide c and k
    } else {
      changed[field] = value.get<int64_t>() + 1;
    }
    auto w = Workload::FromJson(changed);
    ASSERT_TRUE(w.ok()) << field << ": " << w.status().message();
    EXPECT_TRUE(keys.insert(w->Key()).second) << "changing " << field << " did not change the key";
  }
}

TEST(Workload, FieldOrderDoesNotMatter) {
  Json a = Conv();
  // Same content, inserted in reverse order.
  Json b = Json::object();
  std::vector<std::pair<std::string, Json>> items;
  for (const auto& [k, v] : a.items()) items.emplace_back(k, v);
  for (auto it = items.rbegin(); it != items.rend(); ++it) b[it->first] = it->second;
  auto text = R"({"w":56,"h":56,"groups":1,"op":"conv2d","dtype":"float32","layout":"NCHW","n":1,"c":64,
    "k":64,"kh":3,"kw":3,"stride_w":1,"stride_h":1,"pad_right":1,"pad_left":1,"pad_bottom":1,"pad_top":1,
    "dilation_w":1,"dilation_h":1})";
  EXPECT_EQ(Workload::FromJson(a)->Key(), Workload::FromJson(b)->Key());
  EXPECT_EQ(Workload::FromJson(a)->Key(), Workload::FromJson(Json::parse(text))->Key());
  EXPECT_EQ(Workload::FromJson(a)->CanonicalJson(), Workload::FromJson(Json::parse(text))->CanonicalJson());
}

TEST(Workload, ValidationNamesTheField) {
  Json j = Conv();
  j.erase("kh");
  EXPECT_NE(Workload::FromJson(j).status().message().find("missing field 'kh'"), std::string::npos);
  j = Conv();
  j["stride_h"] = 0;
  EXPECT_NE(Workload::FromJson(j).status().message().find("'stride_h'"), std::string::npos);
  j = Conv();
  j["extra"] = 1;
  EXPECT_NE(Workload::FromJson(j).status().message().find("unknown field 'extra'"), std::string::npos);
  j = Conv();
  j["groups"] = 3;
  EXPECT_NE(Workload::FromJson(j).status().message().find("groups"), std::string::npos);
  j = Conv();
  j["kh"] = 100;
  EXPECT_NE(Workload::FromJson(j).status().message().find("does not fit"), std::string::npos);
  EXPECT_FALSE(Workload::FromJson(Json::parse(R"({"op":"fft"})")).ok());
  EXPECT_FALSE(Workload::FromJson(Json::parse("[1,2]")).ok());
}

TEST(Workload, DenseAndBatchMatmul) {
  auto d = Workload::FromJson(
      Json::parse(R"({"op":"dense","dtype":"float32","m":128,"n":768,"k":256,"trans_a":false,"trans_b":true})"));
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_DOUBLE_EQ(d->Flops(), 2.0 * 128 * 768 * 256);
  EXPECT_EQ(d->Summary(), "dense 128x768x256 B^T");
  auto b = Workload::FromJson(
      Json::parse(R"({"op":"batch_matmul","dtype":"float32","batch":4,"m":128,"n":128,"k":64,"broadcast":"none"})"));
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_DOUBLE_EQ(b->Flops(), 2.0 * 4 * 128 * 128 * 64);
  Json bad = b->json();
  bad["broadcast"] = "b";
  EXPECT_FALSE(Workload::FromJson(bad).ok());
}

}  // namespace
}  // namespace opal
