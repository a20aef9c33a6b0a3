// Layer-time sources: Sailor profiles (exact where measured, interpolated between, capped by
// larger micro-batches), the roofline, and the calibration fit recovering known factors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "opal/plan_perf.h"

namespace opal::plan {
namespace {

namespace fs = std::filesystem;

ModelSpec ThreeLayers() {
  ModelSpec m;
  m.name = "three";
  for (int i = 0; i < 3; ++i) {
    LayerSpec l;
    l.name = "block" + std::to_string(i);
    l.matmul_flops = 1e12;
    l.other_bytes = 1e9;
    l.params = 1e8;
    l.out_bytes = 1e6;
    l.tp_allreduces = 2;
    m.layers.push_back(l);
  }
  return m;
}

std::string ProfileDir() {
  fs::path d = fs::temp_directory_path() / "opal_plan_profile" / "X1";
  fs::create_directories(d);
  // mbs 1 is measured slower than mbs 2 for layer 1 (noise): it must be capped.
  std::ofstream(d / "profile.json") << R"({
    "1": {"1": {"0": [0.010, 0.020, 0.005], "1": [0.030, 0.040, 0.005], "2": [0.010, 0.020, 0.005]}},
    "2": {"1": {"0": [0.018, 0.036, 0.005], "1": [0.020, 0.038, 0.005], "2": [0.018, 0.036, 0.005]}},
    "8": {"1": {"0": [0.060, 0.120, 0.005], "1": [0.060, 0.120, 0.005], "2": [0.060, 0.120, 0.005]}}})";
  return d.parent_path().string();
}

TEST(ProfileSource, MeasuredInterpolatedCappedAndExtrapolated) {
  auto p = ProfileSource::Load(ProfileDir(), 3);
  ASSERT_TRUE(p.ok()) << p.status().message();
  ModelSpec m = ThreeLayers();
  GpuType g;
  g.name = "X1";
  auto t = (*p)->Time(m, 0, g, 2, 1);
  ASSERT_TRUE(t);
  EXPECT_DOUBLE_EQ(t->fwd, 0.018);
  EXPECT_DOUBLE_EQ(t->update, 0.005);
  t = (*p)->Time(m, 0, g, 5, 1);  // halfway between 2 and 8
  EXPECT_NEAR(t->fwd, 0.018 + 0.5 * (0.060 - 0.018), 1e-12);
  t = (*p)->Time(m, 1, g, 1, 1);  // capped by the mbs-2 measurement
  EXPECT_DOUBLE_EQ(t->fwd, 0.020);
  EXPECT_DOUBLE_EQ(t->bwd, 0.038);
  t = (*p)->Time(m, 2, g, 16, 1);  // linear beyond the largest
  EXPECT_NEAR(t->fwd, 0.120, 1e-12);
  EXPECT_FALSE((*p)->Time(m, 0, g, 2, 2));  // tp 2 not measured
  GpuType other;
  other.name = "Y";
  EXPECT_FALSE((*p)->Time(m, 0, other, 2, 1));
  // A model with another layer count does not match any profile.
  EXPECT_FALSE(ProfileSource::Load(ProfileDir(), 5).ok());
  EXPECT_EQ(ProfileSource::Load("/nonexistent/profiles", 3).status().code(), ErrorCode::kNotFound);
}

TEST(RooflineSource, ScalesWithWorkAndSplitsWithTensorParallelism) {
  GpuType g;
  g.name = "G";
  g.tensor_flops = 100e12;
  g.mem_bw = 1e12;
  g.intra.peak = 100e9;
  Efficiency e;
  e.matmul = 0.5;
  e.memory = 0.5;
  e.update = 0.25;
  RooflineSource r({}, e);
  ModelSpec m = ThreeLayers();
  auto t1 = r.Time(m, 0, g, 1, 1);
  // 1e12 / (100e12 * 0.5) + 1e9 / (1e12 * 0.5) = 0.02 + 0.002
  EXPECT_NEAR(t1->fwd, 0.022, 1e-12);
  EXPECT_NEAR(t1->bwd, 0.044, 1e-12);
  EXPECT_NEAR(t1->update, 2 * 16 * 1e8 / (1e12 * 0.25), 1e-12);
  auto t4 = r.Time(m, 0, g, 4, 1);
  EXPECT_NEAR(t4->fwd, 4 * 0.022, 1e-12);
  auto tp2 = r.Time(m, 0, g, 1, 2);
  // Half the work plus 2 ring all-reduces of 1 MB among 2 GPUs: 2 * 2 * (1/2) * 1e6 / 100e9.
  EXPECT_NEAR(tp2->fwd, 0.011 + 2 * 1e6 / 100e9, 1e-12);
}

TEST(Calibration, RecoversKnownEfficiencies) {
  // Samples generated with known factors; the fit must find them (to its grid's resolution).
  const double peak = 300e12, bw = 2e12, mm = 0.4, mem = 0.3, ovh = 2e-5;
  std::vector<CalibrationSample> s;
  for (double f : {1e9, 1e10, 1e11, 1e12})
    for (double b : {1e6, 1e8, 1e9}) s.push_back({f, b, f / (peak * mm) + b / (bw * mem) + ovh});
  CalibrationResult r = FitEfficiency(s, peak, bw);
  EXPECT_NEAR(r.eff.matmul, mm, 0.03);
  EXPECT_NEAR(r.eff.memory, mem, 0.03);
  EXPECT_LT(r.mape, 0.03);
}

TEST(ChainSource, FirstAnswerWins) {
  auto prof = ProfileSource::Load(ProfileDir(), 3);
  ASSERT_TRUE(prof.ok());
  ChainSource c;
  c.Add(std::shared_ptr<const PerfSource>(std::move(*prof)));
  c.Add(std::make_shared<RooflineSource>());
  ModelSpec m = ThreeLayers();
  GpuType x1, other;
  x1.name = "X1";
  other.name = "Z";
  other.tensor_flops = 1e14;
  other.mem_bw = 1e12;
  EXPECT_STREQ(c.Time(m, 0, x1, 2, 1)->source, "profile");
  EXPECT_STREQ(c.Time(m, 0, other, 2, 1)->source, "roofline");
  EXPECT_EQ(c.Name(), "profile > roofline");
}

}  // namespace
}  // namespace opal::plan
