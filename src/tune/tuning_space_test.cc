// Configs and spaces: canonical JSON, validation of stored configs, and that sampling, mutation
// and crossover stay inside the space (the space excludes invalid combinations).
#include "opal/tuning_space.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>
#include <vector>

#include "opal/target.h"
#include "opal/tuning_framework.h"
#include "tune/contraction.h"
#include "tune/contraction_space.h"

namespace opal {
namespace {

Target Avx2Host() {
  return Target::Parse(
             "cpu arch=x86_64 cores=2 features=avx,avx2,fma l1d=32K l2=512K l3=32M model=\"test\"")
      .value();
}

Workload Gemm(int m, int n, int k) {
  return Workload::FromJson({{"op", "dense"},
                             {"dtype", "float32"},
                             {"m", m},
                             {"n", n},
                             {"k", k},
                             {"trans_a", false},
                             {"trans_b", false}})
      .value();
}

TEST(Config, CanonicalJsonRoundTrips) {
  Config c{"t", {{"b", 2}, {"a", -1}}};
  EXPECT_EQ(c.CanonicalJson(), R"({"knobs":{"a":-1,"b":2},"template":"t"})");
  auto back = Config::FromJson(c.CanonicalJson());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, c);
  EXPECT_FALSE(Config::FromJson("[1]").ok());
  EXPECT_FALSE(Config::FromJson(R"({"template":"t","knobs":{"a":1.5}})").ok());
  EXPECT_FALSE(Config::FromJson(R"({"template":"t","knobs":{},"code":"rm -rf"})").ok());
}

TEST(ConfigSpace, ProjectTakesTheNearestAllowedValues) {
  // b must not exceed a.
  ConfigSpace s("t",
                {{"a", {1, 4, 16}, "", std::nullopt}, {"b", {2, 6}, "", std::nullopt},
                 {"c", {0, 1}, "", 1}, {"d", {3, 5}, "", std::nullopt}},
                [](const Config& c) { return c.Get("b") <= c.Get("a"); });
  // Nearest values; 4 is as far from 2 as from 6 and the smaller wins; c takes its absent
  // value, d its first; e is not a knob of this space.
  auto p = s.Project(Config{"t", {{"a", 13}, {"b", 4}, {"e", 9}}});
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(*p, (Config{"t", {{"a", 16}, {"b", 2}, {"c", 1}, {"d", 3}}}));
  EXPECT_TRUE(s.Contains(*p));
  EXPECT_EQ(s.Project(*p), p);  // a point of the space stays where it is
  EXPECT_FALSE(s.Project(Config{"t", {{"a", 1}, {"b", 9}}}).has_value());  // b 6 > a 1
  EXPECT_FALSE(s.Project(Config{"other", {{"a", 16}}}).has_value());
}

TEST(ContractionSpace, EveryDrawIsValidAndRespectsRegisterBudget) {
  Target t = Avx2Host();
  Workload w = Gemm(1024, 1024, 1024);
  ConfigSpace s = tune::ContractionSpace(w, t);
  std::mt19937_64 rng(1);
  std::optional<Config> prev;
  for (int i = 0; i < 300; ++i) {
    auto c = s.Sample(rng);
    ASSERT_TRUE(c.has_value());
    ASSERT_TRUE(s.Contains(*c));
    EXPECT_LE(c->Get("rx") * c->Get("ry") + c->Get("rx") + 1, 16);  // AVX2: 16 vector registers
    EXPECT_EQ(c->Get("vec"), 8);  // native width for a wide output
    auto m = s.Mutate(*c, rng);
    ASSERT_TRUE(m.has_value());
    EXPECT_TRUE(s.Contains(*m));
    EXPECT_NE(*m, *c);
    if (prev) {
      auto x = s.Crossover(*prev, *c, rng);
      if (x) EXPECT_TRUE(s.Contains(*x));
    }
    prev = c;
  }
}

TEST(ContractionSpace, ExcludesInvalidCombinations) {
  Target t = Avx2Host();
  // Narrow output: vectors of 4, no tile wider than the output.
  Workload narrow = Gemm(3, 5, 7);
  ConfigSpace s = tune::ContractionSpace(narrow, t);
  std::mt19937_64 rng(2);
  for (int i = 0; i < 100; ++i) {
    auto c = s.Sample(rng);
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->Get("vec"), 4);
    EXPECT_LE(c->Get("ry"), 3);
    EXPECT_EQ(c->Get("kc"), 0);
  }
  // Conv with padding: B must be packed (no in-place im2col).
  Workload conv = Workload::FromJson({{"op", "conv2d"},
                                      {"dtype", "float32"},
                                      {"layout", "NCHW"},
                                      {"n", 1},
                                      {"c", 16},
                                      {"h", 14},
                                      {"w", 14},
                                      {"k", 32},
                                      {"kh", 3},
                                      {"kw", 3},
                                      {"stride_h", 1},
                                      {"stride_w", 1},
                                      {"pad_top", 1},
                                      {"pad_left", 1},
                                      {"pad_bottom", 1},
                                      {"pad_right", 1},
                                      {"dilation_h", 1},
                                      {"dilation_w", 1},
                                      {"groups", 1}})
                      .value();
  ConfigSpace cs = tune::ContractionSpace(conv, t);
  // The implicit im2col must be packed; B is read in place only on the padded row pitch (grid 1),
  // from the materialised im2col matrix (im2col 1) or as the weights packed ahead of time
  // (chan 1); grid excludes im2col.
  for (int i = 0; i < 100; ++i) {
    Config s = *cs.Sample(rng);
    if (s.Get("grid") == 0 && s.Get("im2col") == 0 && s.Get("chan") == 0)
      EXPECT_NE(s.Get("pack_b"), 0) << s.CanonicalJson();
    EXPECT_FALSE(s.Get("grid") == 1 && s.Get("im2col") == 1) << s.CanonicalJson();
  }
  // A stored config that the space excludes is rejected when read back.
  Config c = *cs.Sample(rng);
  c.knobs["grid"] = 0;
  c.knobs["im2col"] = 0;
  c.knobs["chan"] = 0;
  c.knobs["pack_b"] = 0;
  EXPECT_FALSE(cs.Parse(c.CanonicalJson()).ok());
  c.knobs["rx"] = 7;
  EXPECT_FALSE(cs.Parse(c.CanonicalJson()).ok());
}

TEST(ContractionSpace, DefaultIsInTheSpace) {
  Target t = Avx2Host();
  for (auto [m, n, k] : {std::tuple{1, 1, 1}, {1024, 1024, 1024}, {128, 768, 3072}, {5, 300, 2}}) {
    Workload w = Gemm(m, n, k);
    EXPECT_TRUE(tune::ContractionSpace(w, t).Contains(tune::ContractionDefault(w, t)))
        << w.Summary();
  }
}

Workload Conv1(int c, int hw, int k, int kh) {
  return Workload::FromJson({{"op", "conv2d"}, {"dtype", "float32"}, {"layout", "NCHW"}, {"n", 1}, {"c", c},
                             {"h", hw}, {"w", hw}, {"k", k}, {"kh", kh}, {"kw", kh}, {"stride_h", 1},
                             {"stride_w", 1}, {"pad_top", kh / 2}, {"pad_left", kh / 2}, {"pad_bottom", kh / 2},
                             {"pad_right", kh / 2}, {"dilation_h", 1}, {"dilation_w", 1}, {"groups", 1}})
      .value();
}

// A chan config reads its weights in panels of its register tile's width when that divides the
// channels per group (one panel of all of them otherwise), each panel [r][lane] per group.
TEST(ContractionSpace, ChanWeightsArePanelsOfTheRegisterTile) {
  Workload w = Workload::FromJson(Json::parse(
                   R"({"op":"conv2d","dtype":"float32","layout":"NCHW","n":1,"c":4,"h":5,"w":5,"k":64,"kh":1,"kw":2,"stride_h":1,"stride_w":1,"pad_top":0,"pad_left":0,"pad_bottom":0,"pad_right":0,"dilation_h":1,"dilation_w":1,"groups":2})"))
                   .value();  // 32 channels and r = 2 * 1 * 2 = 4 per group
  tune::ContractionKnobs k;
  k.chan = 1;
  k.vec = 8, k.rx = 2;
  EXPECT_EQ(tune::ChanWeightPanel(w, k), 16);
  k.vec = 16, k.rx = 3;  // 48 does not divide 32
  EXPECT_EQ(tune::ChanWeightPanel(w, k), 32);
  const int64_t groups = 2, kg = 32, nr = 4;
  std::vector<float> onnx(64 * nr), packed(onnx.size(), -1.f);
  for (int64_t ch = 0; ch < 64; ++ch)
    for (int64_t r = 0; r < nr; ++r) onnx[ch * nr + r] = static_cast<float>(ch * 100 + r);
  for (int64_t panel : {8, 16, 32}) {
    tune::PackChanWeights(w, panel, onnx.data(), packed.data());
    for (int64_t g = 0; g < groups; ++g)
      for (int64_t p = 0; p < kg / panel; ++p)
        for (int64_t r = 0; r < nr; ++r)
          for (int64_t l = 0; l < panel; ++l)
            ASSERT_EQ(packed[((g * (kg / panel) + p) * nr + r) * panel + l],
                      static_cast<float>((g * kg + p * panel + l) * 100 + r))
                << "panel " << panel << " group " << g << " panel index " << p << " r " << r << " lane " << l;
  }
}

TEST(ContractionSpace, SeedsFitTheOutputWidth) {
  const Target avx512 =
      Target::Parse("cpu arch=x86_64 cores=2 features=avx,avx2,fma,avx512f l1d=48K l2=1M l3=32M model=\"t\"").value();
  for (const Target& t : {Avx2Host(), avx512}) {
    for (const Workload& w : {Conv1(2048, 7, 512, 1), Conv1(256, 14, 1024, 1), Conv1(64, 56, 64, 3), Gemm(1024, 1024, 1024),
                              Gemm(5, 300, 2), Gemm(1, 1, 1)}) {
      SCOPED_TRACE(w.Summary() + " " + t.CanonicalString());
      const ConfigSpace space = tune::ContractionSpace(w, t);
      const std::vector<Config> seeds = tune::ContractionSeeds(w, t);
      ASSERT_FALSE(seeds.empty());
      EXPECT_EQ(seeds[0], tune::ContractionDefault(w, t));
      std::set<std::string> distinct;
      for (const Config& c : seeds) {
        EXPECT_TRUE(space.Contains(c)) << c.CanonicalJson();
        distinct.insert(c.CanonicalJson());
      }
      EXPECT_EQ(distinct.size(), seeds.size());
      // Some seed pads the output width no more than whole vectors must.
      const int64_t nx = tune::ContractionOf(w).nx;
      int64_t least = INT64_MAX;
      for (const Config& c : seeds) {
        const int64_t cols = c.Get("vec") * c.Get("rx");
        least = std::min(least, (nx + cols - 1) / cols * cols);
      }
      const int64_t vec = seeds[0].Get("vec");
      if (nx >= 64) EXPECT_EQ(least, (nx + vec - 1) / vec * vec);
      // Stride-1 convs with a kernel larger than 1x1 also start on the padded row pitch, and
      // convs whose input is not read in place vectorised over channels on their grid.
      bool grid = false, chan_grid = false;
      for (const Config& c : seeds) {
        const bool g = c.knobs.count("grid") && c.Get("grid") == 1;
        const bool ch = c.knobs.count("chan") && c.Get("chan") == 1;
        grid = grid || (g && !ch);
        chan_grid = chan_grid || (g && ch);
      }
      EXPECT_EQ(grid, tune::GridEligible(w));
      EXPECT_EQ(chan_grid, tune::ChanGridEligible(w));
      // Every conv also starts from a register tile vectorised over pixels without a cache tile.
      bool pixel_tile = false;
      for (const Config& c : seeds)
        pixel_tile = pixel_tile || (c.knobs.count("chan") && c.Get("chan") == 0 && c.Get("tx") == 1 &&
                                    c.Get("ty") == 1 && c.Get("pack_b") == 0);
      EXPECT_EQ(pixel_tile, w.op() == "conv2d");
    }
  }
}

// A 1x1 stride-1 conv with few input channels and many pixels defaults to the pixel register tile
// (its input read in place, no cache tile); with many input channels or few pixels it does not.
TEST(ContractionSpace, FewChannelManyPixelConvsDefaultToThePixelTile) {
  const Target t = Target::Parse("cpu arch=x86_64 cores=2 features=avx,avx2,fma,avx512f l1d=48K l2=1M l3=32M model=\"t\"").value();
  const Config small = tune::ContractionDefault(Conv1(64, 56, 256, 1), t);
  EXPECT_EQ(small.Get("chan"), 0);
  EXPECT_EQ(small.Get("tx") * small.Get("ty"), 1);
  EXPECT_EQ(small.Get("pack_b"), 0);
  EXPECT_EQ(small.Get("rx") * small.Get("ry"), 24);
  EXPECT_EQ(tune::ContractionDefault(Conv1(512, 56, 128, 1), t).Get("chan"), 1);
  EXPECT_EQ(tune::ContractionDefault(Conv1(64, 28, 256, 1), t).Get("chan"), 1);
  EXPECT_EQ(tune::ContractionDefault(Conv1(64, 56, 64, 3), t).Get("chan"), 1);
}

}  // namespace
}  // namespace opal

namespace opal {
namespace {

TEST(HalideFramework, FeaturesHaveOneValuePerNameForEveryOp) {
  auto fw = MakeTuningFramework("halide").value();
  Target t = Avx2Host();
  std::mt19937_64 rng(3);
  for (
      const char* js :
      {R"({"op":"dense","dtype":"float32","m":5,"n":300,"k":2,"trans_a":true,"trans_b":true})",
       R"({"op":"batch_matmul","dtype":"float32","batch":12,"m":128,"n":64,"k":128,"broadcast":"a"})",
       R"({"op":"conv2d","dtype":"float32","layout":"NCHW","n":1,"c":32,"h":7,"w":7,"k":32,"kh":3,"kw":3,"stride_h":2,"stride_w":2,"pad_top":1,"pad_left":1,"pad_bottom":1,"pad_right":1,"dilation_h":1,"dilation_w":1,"groups":8})"}) {
    Workload w = Workload::FromJson(Json::parse(js)).value();
    ConfigSpace s = fw->Space(w, t).value();
    for (int i = 0; i < 20; ++i) {
      Config c = *s.Sample(rng);
      std::vector<double> f = fw->Features(w, c, t);
      ASSERT_EQ(f.size(), fw->FeatureNames().size());
      for (double v : f) EXPECT_TRUE(std::isfinite(v)) << c.CanonicalJson();
    }
  }
  Workload fp16 =
      Workload::FromJson(
          Json::parse(
              R"({"op":"dense","dtype":"float16","m":5,"n":3,"k":2,"trans_a":false,"trans_b":false})"))
          .value();
  EXPECT_FALSE(fw->Supports(fp16));
  // Depthwise convolutions are built with a direct kernel, not tuned with this template.
  Workload depthwise = Workload::FromJson(Json::parse(
      R"({"op":"conv2d","dtype":"float32","layout":"NCHW","n":1,"c":32,"h":7,"w":7,"k":32,"kh":3,"kw":3,"stride_h":2,"stride_w":2,"pad_top":1,"pad_left":1,"pad_bottom":1,"pad_right":1,"dilation_h":1,"dilation_w":1,"groups":32})"))
                           .value();
  EXPECT_FALSE(fw->Supports(depthwise));
  EXPECT_EQ(fw->Space(fp16, t).status().code(), ErrorCode::kUnsupported);
}

}  // namespace
}  // namespace opal
