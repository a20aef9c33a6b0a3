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

TEST(ProfileSource, FractionalMicroBatchAndItsInverse) {
  auto p = ProfileSource::Load(ProfileDir(), 3);
  ASSERT_TRUE(p.ok()) << p.status().message();
  // Layer 0, forward: 0.010 / 0.018 / 0.060 s at micro-batch 1 / 2 / 8.
  EXPECT_NEAR((*p)->TimeAt("X1", 0, 1.5, 1)->fwd, 0.014, 1e-12);
  EXPECT_NEAR((*p)->TimeAt("X1", 0, 5, 1)->bwd, 0.036 + 0.5 * (0.120 - 0.036), 1e-12);
  EXPECT_DOUBLE_EQ((*p)->TimeAt("X1", 0, 0.5, 1)->fwd, 0.010);   // below: the smallest size's
  EXPECT_NEAR((*p)->TimeAt("X1", 0, 12, 1)->fwd, 0.090, 1e-12);  // beyond: linear
  EXPECT_NEAR(*(*p)->EquivalentBatch("X1", 0, 1, false, 0.039), 5, 1e-9);
  EXPECT_NEAR(*(*p)->EquivalentBatch("X1", 0, 1, false, 0.014), 1.5, 1e-9);
  EXPECT_NEAR(*(*p)->EquivalentBatch("X1", 0, 1, true, 0.180), 12, 1e-9);
  // Not above the smallest size's time: the curve is flat there, no size answers.
  EXPECT_FALSE((*p)->EquivalentBatch("X1", 0, 1, false, 0.010));
  EXPECT_FALSE((*p)->EquivalentBatch("X1", 0, 1, false, 0.004));
  // Layer 1 is capped to 0.020 at micro-batch 1, flat up to 2: the first size past the flat part.
  EXPECT_NEAR(*(*p)->EquivalentBatch("X1", 1, 1, false, 0.040), 5, 1e-9);
  EXPECT_FALSE((*p)->EquivalentBatch("X1", 1, 2, false, 0.040));  // tp 2 not measured
  EXPECT_FALSE((*p)->EquivalentBatch("Y", 1, 1, false, 0.040));
  EXPECT_FALSE((*p)->TimeAt("X1", 3, 1, 1));
}

// Model X is profiled on GPU H only, the reference model Y on H and G. X's block on H takes as
// long as Y's at micro-batch 6 (the equivalent batch); on G it is Y's curve at 6 x the drift of
// the roofline work ratio from H to G.
TEST(ProfileTransferSource, EquivalentBatchOnTheTargetsOwnCurve) {
  fs::path root = fs::temp_directory_path() / "opal_plan_transfer";
  fs::create_directories(root / "X" / "H");
  fs::create_directories(root / "Y" / "H");
  fs::create_directories(root / "Y" / "G");
  // Layers 0 and 2 stay at 1 ms (not above Y's smallest size: the ratio of times answers).
  std::ofstream(root / "X" / "H" / "profile.json") << R"({
    "2": {"1": {"0": [0.001, 0.002, 0], "1": [0.028, 0.056, 0], "2": [0.001, 0.002, 0]}}})";
  std::ofstream(root / "Y" / "H" / "profile.json") << R"({
    "1": {"1": {"0": [0.002, 0.004, 0], "1": [0.010, 0.020, 0], "2": [0.002, 0.004, 0]}},
    "2": {"1": {"0": [0.002, 0.004, 0], "1": [0.012, 0.024, 0], "2": [0.002, 0.004, 0]}},
    "4": {"1": {"0": [0.004, 0.008, 0], "1": [0.020, 0.040, 0], "2": [0.004, 0.008, 0]}},
    "8": {"1": {"0": [0.008, 0.016, 0], "1": [0.036, 0.072, 0], "2": [0.008, 0.016, 0]}}})";
  std::ofstream(root / "Y" / "G" / "profile.json") << R"({
    "2": {"1": {"0": [0.001, 0.002, 0], "1": [0.006, 0.012, 0], "2": [0.001, 0.002, 0]}},
    "4": {"1": {"0": [0.002, 0.004, 0], "1": [0.008, 0.016, 0], "2": [0.002, 0.004, 0]}},
    "8": {"1": {"0": [0.004, 0.008, 0], "1": [0.012, 0.024, 0], "2": [0.004, 0.008, 0]}}})";
  ModelSpec y = ThreeLayers(), x = ThreeLayers();
  y.dtype_bytes = x.dtype_bytes = 4;
  for (ModelSpec* m : {&x, &y})
    for (LayerSpec& l : m->layers) l.matmul_flops = 1e10, l.other_bytes = 1e7;
  x.layers[1].matmul_flops = 4e10;
  x.layers[1].other_bytes = 2e7;
  x.layers[2].matmul_flops =
      1e11;  // 2 ms at H's peak for micro-batch 2: its 1 ms is no measurement
  GpuType h, g;
  h.name = "H", h.fp32_flops = 100e12, h.mem_bw = 1e12;
  g.name = "G", g.fp32_flops = 400e12, g.mem_bw = 2e12;
  auto px = ProfileSource::Load((root / "X").string(), 3);
  auto py = ProfileSource::Load((root / "Y").string(), 3);
  ASSERT_TRUE(px.ok() && py.ok());
  ProfileTransferSource src(std::move(*px), std::move(*py), y, {h, g});
  // Work per sample at peak (ms): on H, X 0.4 + 0.02, Y 0.1 + 0.01; on G, X 0.1 + 0.01, Y 0.025 +
  // 0.005. Drift (0.11 / 0.03) / (0.42 / 0.11) = 0.121 / 0.126.
  const double drift = 0.121 / 0.126;
  auto t = src.Time(x, 1, g, 2, 1);
  ASSERT_TRUE(t);
  EXPECT_STREQ(t->source, "profile-transfer");
  // X on H: 0.028 s forward = Y on H at 4 + 4 x 0.008 / 0.016 = 6; on G at 6 x drift (4..8).
  EXPECT_NEAR(t->fwd, 0.008 + 0.004 * (6 * drift - 4) / 4, 1e-12);
  EXPECT_NEAR(t->bwd, 0.016 + 0.008 * (6 * drift - 4) / 4, 1e-12);
  // The ratio of times at micro-batch 2 would have said 0.006 x 0.028 / 0.012 = 0.014 s.
  EXPECT_LT(t->fwd, 0.010);
  // Layer 0: X's 1 ms is below Y's 2 ms floor on H: Y on G x 0.001 / 0.002, no drift (same
  // layer specs in both models).
  t = src.Time(x, 0, g, 2, 1);
  ASSERT_TRUE(t);
  EXPECT_NEAR(t->fwd, 0.001 * 0.001 / 0.002, 1e-12);
  // Layer 2: X's 1 ms on H is below its 2 ms at H's peak: Y on G at 2 x the work ratio on G,
  // (0.25 + 0.005) / (0.025 + 0.005) = 8.5, i.e. at 17 (linear beyond 8).
  t = src.Time(x, 2, g, 2, 1);
  ASSERT_TRUE(t);
  EXPECT_NEAR(t->fwd, 0.004 * 17 / 8, 1e-12);
  EXPECT_NEAR(t->bwd, 0.008 * 17 / 8, 1e-12);
  EXPECT_FALSE(src.Time(x, 1, h, 2, 1));  // H has X's own profile
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
