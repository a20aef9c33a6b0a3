#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "opal/plan_catalog.h"

namespace opal::plan {
namespace {

std::string WriteTemp(const std::string& name, const std::string& text) {
  auto p = std::filesystem::temp_directory_path() / ("opal_plan_" + name);
  std::ofstream(p) << text;
  return p.string();
}

TEST(Catalog, ShippedCatalogHasASourceAndPriceDateForEveryEntry) {
  auto c = LoadCatalog(std::string(OPAL_SOURCE_DIR) + "/data/catalog/gpus.json");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_GE(c->gpus.size(), 6u);
  for (const auto& g : c->gpus) {
    EXPECT_FALSE(g.source.empty()) << g.name;
    EXPECT_GT(g.tensor_flops, g.fp32_flops * 0.99) << g.name;  // tensor peak >= fp32 peak
  }
  for (const auto& i : c->instances) {
    EXPECT_FALSE(i.source.empty()) << i.name;
    EXPECT_EQ(i.price_date.size(), 7u) << i.name;  // YYYY-MM
    EXPECT_NE(c->FindGpu(i.gpu), nullptr) << i.name;
  }
  for (const char* g : {"H100-80", "A100-80", "A100-40", "V100-16", "L4", "T4"})
    EXPECT_NE(c->CheapestInstanceFor(g), nullptr) << g;
}

TEST(Catalog, LinkCurveFollowsSailorsPolynomialAndCapsAtPeak) {
  LinkCurve l{{-0.5, 4.0, 10.0}, 20e9};
  // 4 MB: x = log2(4) = 2 -> -2 + 8 + 10 = 16 GB/s.
  EXPECT_NEAR(l.Bandwidth(4e6), 16e9, 1e3);
  EXPECT_NEAR(l.Seconds(4e6), 4e6 / 16e9, 1e-12);
  // 16 MB: x = 4 -> -8 + 16 + 10 = 18; 64 MB: x = 6 -> -18 + 24 + 10 = 16 (past the top).
  EXPECT_NEAR(l.Bandwidth(16e6), 18e9, 1e3);
  LinkCurve flat{{}, 5e9};
  EXPECT_NEAR(flat.Seconds(1e9), 0.2, 1e-12);
  LinkCurve capped{{1.0, 0, 0}, 2e9};  // x^2 GB/s grows past the peak
  EXPECT_NEAR(capped.Bandwidth(1e12), 2e9, 1);
}

TEST(Catalog, ClusterFileErrorsAreOneLineAndTyped) {
  Catalog base = *LoadCatalog(std::string(OPAL_SOURCE_DIR) + "/data/catalog/gpus.json");
  {
    Catalog c = base;
    auto r = LoadCluster("/nonexistent/cluster.json", &c);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), ErrorCode::kNotFound);
  }
  {
    Catalog c = base;
    auto r = LoadCluster(WriteTemp("bad.json", "{\"available\": [ {\"gpu\": "), &c);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidModel);
  }
  {
    Catalog c = base;
    auto r = LoadCluster(
        WriteTemp("unknown.json", R"({"available": [{"gpu": "B300", "count": 8}]})"), &c);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("A100-80"), std::string::npos) << "lists the known GPUs";
    EXPECT_EQ(r.status().message().find('\n'), std::string::npos);
  }
  {
    Catalog c = base;
    auto r =
        LoadCluster(WriteTemp("zero.json", R"({"available": [{"gpu": "L4", "count": 0}]})"), &c);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("count"), std::string::npos);
  }
}

TEST(Catalog, ClusterFileAddsAndOverridesTypes) {
  Catalog c = *LoadCatalog(std::string(OPAL_SOURCE_DIR) + "/data/catalog/gpus.json");
  auto r = ClusterFromJson(Json::parse(R"({
    "gpus": [{"name": "MI300X", "memory_gb": 192, "tensor_tflops": 1307, "fp32_tflops": 163, "mem_bw_gbps": 5300,
              "intra_gbps": 448, "source": "test"}],
    "instances": [{"name": "mi300x-8", "gpu": "MI300X", "gpus_per_node": 8, "network_gbit": 400,
                   "price_per_hour": 40, "provider": "test", "price_date": "2025-01", "source": "test"},
                  {"name": "g6.48xlarge", "gpu": "L4", "gpus_per_node": 8, "network_gbit": 100,
                   "price_per_hour": 8, "provider": "aws", "price_date": "2025-01", "source": "negotiated"}],
    "available": [{"gpu": "MI300X", "count": 16}, {"gpu": "L4", "count": 8}]})"),
                           &c, "inline");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->pools.size(), 2u);
  EXPECT_DOUBLE_EQ(r->pools[0].PricePerGpuHour(), 5.0);
  EXPECT_DOUBLE_EQ(r->pools[1].PricePerGpuHour(), 1.0);  // the override wins
  EXPECT_EQ(r->TotalGpus(), 24);
}

}  // namespace
}  // namespace opal::plan
