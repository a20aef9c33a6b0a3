// Every template configuration must compute what the naive reference kernel computes, on odd
// shapes (primes, 1x1, tails narrower than a vector), strides, pads, dilations and groups.
// Kernels are built in-process here (no sandbox) to keep the JIT count and time small.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>

#include "opal/target.h"
#include "opal/tuning_kernel.h"
#include "tune/contraction.h"
#include "tune/contraction_algorithm.h"
#include "tune/contraction_space.h"
#include "tune/kernel_measure.h"
#include "tune/reference_kernels.h"

namespace opal::tune {
namespace {

Workload Dense(int m, int n, int k, bool ta, bool tb) {
  return Workload::FromJson({{"op", "dense"},
                             {"dtype", "float32"},
                             {"m", m},
                             {"n", n},
                             {"k", k},
                             {"trans_a", ta},
                             {"trans_b", tb}})
      .value();
}

Workload Bmm(int b, int m, int n, int k, const char* bc) {
  return Workload::FromJson({{"op", "batch_matmul"},
                             {"dtype", "float32"},
                             {"batch", b},
                             {"m", m},
                             {"n", n},
                             {"k", k},
                             {"broadcast", bc}})
      .value();
}

struct ConvSpec {
  int n, c, h, w, k, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, g;
};
Workload Conv(ConvSpec s) {
  return Workload::FromJson({{"op", "conv2d"},
                             {"dtype", "float32"},
                             {"layout", "NCHW"},
                             {"n", s.n},
                             {"c", s.c},
                             {"h", s.h},
                             {"w", s.w},
                             {"k", s.k},
                             {"kh", s.kh},
                             {"kw", s.kw},
                             {"stride_h", s.sh},
                             {"stride_w", s.sw},
                             {"pad_top", s.pt},
                             {"pad_left", s.pl},
                             {"pad_bottom", s.pb},
                             {"pad_right", s.pr},
                             {"dilation_h", s.dh},
                             {"dilation_w", s.dw},
                             {"groups", s.g}})
      .value();
}

// Builds `cfg`, runs it on fresh random inputs and compares every element with the reference.
void ExpectMatchesReference(const Workload& w, const Config& cfg, uint64_t seed) {
  SCOPED_TRACE(w.Summary() + " " + cfg.CanonicalJson());
  auto kernel = BuildHalideKernel(w, cfg);
  ASSERT_TRUE(kernel.ok()) << kernel.status().message();
  OperandShapes shapes = OperandsOf(w);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  std::vector<AlignedFloats> in;
  std::vector<const float*> ptrs;
  for (const auto& s : shapes.inputs) {
    in.emplace_back(NumElements(s));
    for (int64_t i = 0; i < in.back().size(); ++i) in.back().data()[i] = dist(rng);
    ptrs.push_back(in.back().data());
  }
  AlignedFloats out(NumElements(shapes.output)), ref(NumElements(shapes.output));
  std::fill(out.data(), out.data() + out.size(), NAN);
  (*kernel)->Prepare(ptrs);  // as the measurement does (re-laid-out weights of chan configs)
  ASSERT_TRUE((*kernel)->Run(ptrs, out.data()).ok());
  ReferenceKernel(w, ptrs, ref.data());
  int bad = 0;
  for (int64_t i = 0; i < out.size() && bad < 5; ++i) {
    double abs_sum;
    ReferenceElement(w, ptrs, i, &abs_sum);
    if (!(std::fabs(out.data()[i] - ref.data()[i]) <= 1e-5 * abs_sum + 1e-6)) {
      ADD_FAILURE() << "element " << i << ": got " << out.data()[i] << ", want " << ref.data()[i];
      ++bad;
    }
  }
}

// The default config and one random config of the space (seeded: reproducible).
void CheckWorkload(const Workload& w, uint64_t seed, int random_configs = 1) {
  Target host = Target::DetectHost();
  ConfigSpace space = ContractionSpace(w, host);
  Config def = ContractionDefault(w, host);
  ASSERT_TRUE(space.Contains(def)) << def.CanonicalJson();
  ExpectMatchesReference(w, def, seed);
  std::mt19937_64 rng(seed);
  for (int i = 0; i < random_configs; ++i) {
    auto c = space.Sample(rng);
    ASSERT_TRUE(c.has_value());
    ExpectMatchesReference(w, *c, seed + 1 + i);
  }
}

TEST(Templates, DenseOddShapesAllTransposes) {
  CheckWorkload(Dense(7, 13, 5, false, false), 1);
  CheckWorkload(Dense(31, 37, 41, true, false), 2, 0);
  CheckWorkload(Dense(3, 29, 17, false, true), 3, 0);
  CheckWorkload(Dense(11, 5, 3, true, true), 4, 0);
}

// B packed ahead of time in panels of the register tile's columns (pack_b 3): odd n (the last
// panel partly zero), B transposed or not, a batch-1 row (GEMV), random other knobs; and the
// layout itself, element by element.
TEST(Templates, DenseWithBPackedAheadOfTime) {
  const Target host = Target::DetectHost();
  std::mt19937_64 rng(77);
  int checked = 0;
  for (const Workload& w : {Dense(7, 37, 19, false, false), Dense(1, 45, 64, false, true), Dense(33, 50, 9, true, true)}) {
    ConfigSpace space = ContractionSpace(w, host);
    for (int tries = 0, found = 0; tries < 400 && found < 2; ++tries) {
      auto c = space.Sample(rng);
      ASSERT_TRUE(c.has_value());
      if (ContractionKnobs::From(*c).pack_b != 3) continue;
      ++found;
      ++checked;
      ExpectMatchesReference(w, *c, 100 + tries);
      const ContractionKnobs k = ContractionKnobs::From(*c);
      const std::vector<int64_t> shape = PackedWeightsShape(w, k);
      ASSERT_EQ(shape.size(), 3u);
      const int64_t n = w.Get("n"), kk = w.Get("k"), rx = int64_t(k.vec) * k.rx;
      EXPECT_EQ(shape, (std::vector<int64_t>{(n + rx - 1) / rx, kk, rx}));
      const bool tb = w.json().at("trans_b").get<bool>();
      std::vector<float> b(static_cast<size_t>(n * kk)), packed(static_cast<size_t>(NumElements(shape)), NAN);
      for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<float>(i + 1);
      PackWeights(w, k, b.data(), packed.data());
      for (int64_t col = 0; col < shape[0] * rx; ++col)
        for (int64_t r = 0; r < kk; ++r) {
          const float want = col < n ? b[static_cast<size_t>(tb ? col * kk + r : r * n + col)] : 0.f;
          ASSERT_EQ(packed[static_cast<size_t>(((col / rx) * kk + r) * rx + col % rx)], want) << col << "," << r;
        }
    }
  }
  EXPECT_GE(checked, 4) << "pack_b 3 configs are rarely sampled";
}

// A pixel-vectorised conv's weights packed ahead of time in panels of RY output channels per group
// (pack_a 1, chan 0): grouped, batch 2, channels per group not a multiple of RY (the last panel
// partly zero), a strided 3x3 and a 1x1; and the layout itself, element by element.
TEST(Templates, ConvWithWeightPanelsPackedAheadOfTime) {
  const Target host = Target::DetectHost();
  std::mt19937_64 rng(91);
  int checked = 0;
  for (const Workload& w : {Conv({2, 6, 9, 8, 10, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 2}),
                            Conv({1, 8, 5, 7, 7, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1})}) {
    ConfigSpace space = ContractionSpace(w, host);
    for (int tries = 0, found = 0; tries < 2000 && found < 2; ++tries) {
      auto c = space.Sample(rng);
      ASSERT_TRUE(c.has_value());
      const ContractionKnobs k = ContractionKnobs::From(*c);
      if (k.pack_a != 1 || UsesChan(w, k)) continue;
      if (found == 0 && (w.Get("k") / w.Get("groups")) % k.ry == 0) continue;  // first: a partial panel
      ++found;
      ++checked;
      ExpectMatchesReference(w, *c, 200 + tries);
      const std::vector<int64_t> shape = PackedWeightsShape(w, k);
      const int64_t g = w.Get("groups"), kg = w.Get("k") / g, ry = k.ry, np = (kg + ry - 1) / ry;
      const int64_t nr = (w.Get("c") / g) * w.Get("kh") * w.Get("kw");
      ASSERT_EQ(shape, (std::vector<int64_t>{g * np, nr, ry}));
      std::vector<float> wt(static_cast<size_t>(w.Get("k") * nr)), packed(static_cast<size_t>(NumElements(shape)), NAN);
      for (size_t i = 0; i < wt.size(); ++i) wt[i] = static_cast<float>(i + 1);
      PackWeights(w, k, wt.data(), packed.data());
      for (int64_t gi = 0; gi < g; ++gi)
        for (int64_t ch = 0; ch < np * ry; ++ch)
          for (int64_t r = 0; r < nr; ++r) {
            const float want = ch < kg ? wt[static_cast<size_t>((gi * kg + ch) * nr + r)] : 0.f;
            ASSERT_EQ(packed[static_cast<size_t>(((gi * np + ch / ry) * nr + r) * ry + ch % ry)], want)
                << gi << "," << ch << "," << r;
          }
    }
  }
  EXPECT_GE(checked, 4) << "pack_a 1 pixel-vectorised configs are rarely sampled";
}

TEST(Templates, DenseOneByOne) { CheckWorkload(Dense(1, 1, 1, false, false), 5, 0); }

TEST(Templates, BatchMatmulBroadcast) {
  CheckWorkload(Bmm(3, 5, 17, 11, "none"), 6, 0);
  CheckWorkload(Bmm(2, 9, 7, 13, "a"), 7);
}

TEST(Templates, ConvStridedPaddedAsymmetric) {
  CheckWorkload(Conv({1, 3, 11, 13, 10, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1}), 8);
  CheckWorkload(Conv({2, 5, 9, 7, 6, 3, 2, 1, 2, 2, 0, 1, 1, 1, 1, 1}), 9, 0);
}

TEST(Templates, ConvDilated) {
  CheckWorkload(Conv({1, 4, 13, 11, 7, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1}), 10, 0);
}

TEST(Templates, ConvGroupedAndDepthwise) {
  CheckWorkload(Conv({1, 6, 9, 9, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2}), 11, 0);
  CheckWorkload(Conv({2, 6, 7, 5, 6, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 6}), 12);
}

TEST(Templates, ConvPointwiseDirectAndStrided) {
  CheckWorkload(Conv({1, 7, 5, 3, 9, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1}), 13);
  CheckWorkload(Conv({1, 8, 9, 9, 16, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1}), 14, 0);
  // Few input channels, many pixels (and a channel count no tile divides): the default is the
  // pixel register tile with no cache tile, the input read in place.
  CheckWorkload(Conv({1, 5, 56, 57, 13, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1}), 15, 0);
  // Every seed of a conv with a larger kernel, the pixel tile on the grid among them.
  Workload w3 = Conv({1, 6, 11, 10, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1});
  uint64_t seed = 16;
  for (const Config& c : ContractionSeeds(w3, Target::DetectHost())) ExpectMatchesReference(w3, c, ++seed);
}

// For each shape: the default config with `knobs` set to 1 (when the space holds it) and the
// seeds that have them, then `samples` random configs of the space that have them (the last one also
// with B read in place, pack_b 0, when `want_in_place`), every element checked against the
// reference.
void CheckConvKnobs(const std::vector<ConvSpec>& shapes, const std::vector<const char*>& knobs, int samples,
                    bool want_in_place, uint64_t seed) {
  auto has_all = [&](const Config& c) {
    for (const char* k : knobs)
      if (c.Get(k) != 1) return false;
    return true;
  };
  Target host = Target::DetectHost();
  for (const auto& sh : shapes) {
    Workload w = Conv(sh);
    SCOPED_TRACE(w.Summary());
    ConfigSpace space = ContractionSpace(w, host);
    Config def = ContractionDefault(w, host);
    for (const char* k : knobs) def.knobs[k] = 1;
    std::vector<Config> fixed;
    if (space.Contains(def)) fixed.push_back(def);
    for (const Config& s : ContractionSeeds(w, host))
      if (has_all(s)) fixed.push_back(s);
    ASSERT_FALSE(fixed.empty()) << "no seed and not the default with " << knobs[0];
    for (const Config& c : fixed) ExpectMatchesReference(w, c, ++seed);
    std::mt19937_64 rng(seed);
    int checked = 0, in_place = 0;
    for (int i = 0; i < 2000 && checked < samples; ++i) {
      auto c = space.Sample(rng);
      ASSERT_TRUE(c.has_value());
      const bool need_in_place = want_in_place && checked == samples - 1 && in_place == 0;
      if (!has_all(*c) || (need_in_place && c->Get("pack_b") != 0)) continue;
      ExpectMatchesReference(w, *c, ++seed);
      in_place += c->Get("pack_b") == 0;
      ++checked;
    }
    EXPECT_EQ(checked, samples);
    if (want_in_place) EXPECT_GE(in_place, 1);
  }
}

// grid = 1: convs computed on the padded input's row pitch (split into stride phases), read in
// place or packed.
TEST(Templates, ConvOnThePaddedRowPitch) {
  const std::vector<ConvSpec> shapes = {
      {1, 3, 11, 13, 10, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},  // odd sizes, pad 1
      {2, 5, 9, 7, 6, 3, 2, 1, 1, 2, 0, 1, 1, 1, 1, 1},     // batch 2, asymmetric pads
      {1, 4, 13, 11, 7, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1},   // dilation 2
      {1, 6, 9, 9, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2},     // groups
      {1, 16, 7, 7, 33, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},   // 7x7 output: rows narrower than a vector
      {1, 8, 5, 6, 5, 2, 2, 1, 1, 0, 0, 0, 0, 1, 1, 1},     // no padding
      {1, 3, 23, 22, 8, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1},   // a stem: 7x7 stride 2
      {1, 5, 9, 10, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1},    // 3x3 stride 2, odd width
      {2, 4, 11, 12, 5, 3, 2, 3, 2, 1, 0, 0, 1, 1, 1, 1}};  // strides 3 and 2, asymmetric pads
  for (const auto& sh : shapes) ASSERT_TRUE(GridEligible(Conv(sh)));
  CheckConvKnobs(shapes, {"grid"}, 3, false, 100);
}

TEST(Templates, ConvWithTheIm2colMaterialisedFirst) {
  const std::vector<ConvSpec> shapes = {
      {1, 3, 11, 13, 10, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},   // odd sizes, pad 1
      {2, 5, 9, 7, 6, 3, 2, 2, 1, 2, 0, 1, 1, 1, 1, 1},      // batch 2, stride 2 x 1, asymmetric pads
      {1, 4, 13, 11, 7, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 1},    // stride 2, dilation 2
      {1, 6, 9, 9, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2},      // groups
      {1, 16, 14, 14, 33, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1},  // 1x1 stride 2: 7-wide output rows
      {1, 3, 23, 23, 8, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1}};   // a 7x7 stem
  for (const auto& sh : shapes) ASSERT_TRUE(Im2colEligible(Conv(sh)));
  CheckConvKnobs(shapes, {"im2col"}, 4, true, 500);  // the im2col matrix also read in place as B
  // A 1x1 stride-1 unpadded conv reads its input in place: no im2col knob.
  EXPECT_FALSE(Im2colEligible(Conv({1, 16, 7, 7, 33, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1})));
}

TEST(Templates, ConvVectorisedOverChannels) {
  const std::vector<ConvSpec> shapes = {
      {1, 3, 11, 13, 10, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},   // odd sizes, 10 channels: a narrow vector
      {2, 5, 9, 7, 16, 3, 2, 2, 1, 2, 0, 1, 1, 1, 1, 1},     // batch 2, stride 2 x 1, asymmetric pads
      {1, 4, 13, 11, 17, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 1},   // 17 channels, stride 2, dilation 2
      {1, 6, 9, 9, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2},     // groups: 8 channels per group
      {1, 16, 7, 7, 33, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1},    // 1x1: the input read in place as A
      {1, 16, 14, 14, 40, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1},  // 1x1 stride 2
      {1, 3, 23, 23, 8, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1}};   // a 7x7 stem
  for (const auto& sh : shapes) ASSERT_TRUE(ChanEligible(Conv(sh)));
  CheckConvKnobs(shapes, {"chan"}, 4, true, 900);  // the packed weights also read in place as B
  // Fewer than 8 output channels per group, and depthwise convs: no chan knob.
  EXPECT_FALSE(ChanEligible(Conv({1, 16, 7, 7, 7, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1})));
  EXPECT_FALSE(ChanEligible(Conv({1, 16, 7, 7, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 16})));
}

// chan = 1 with grid = 1: vectorised over channels, the pixels read in place from the padded
// input split into stride phases (ConvGridOf), any stride, dilation or group count.
TEST(Templates, ConvVectorisedOverChannelsOnTheGrid) {
  const std::vector<ConvSpec> shapes = {
      {1, 3, 11, 13, 10, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},   // odd sizes, 10 channels, stride 1
      {2, 5, 9, 7, 16, 3, 2, 2, 1, 2, 0, 1, 1, 1, 1, 1},     // batch 2, stride 2 x 1, asymmetric pads
      {1, 4, 13, 11, 17, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 1},   // stride 2, dilation 2: taps across phases
      {1, 6, 9, 9, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2},     // groups
      {1, 16, 15, 13, 40, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1},  // 1x1 stride 2, odd input
      {1, 5, 17, 16, 9, 2, 2, 3, 3, 1, 0, 0, 1, 1, 1, 1},    // stride 3 over a 2x2 kernel
      {1, 3, 23, 23, 8, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1}};   // a 7x7 stem
  for (const auto& sh : shapes) ASSERT_TRUE(ChanGridEligible(Conv(sh)));
  CheckConvKnobs(shapes, {"chan", "grid"}, 3, false, 1300);
  // A 1x1 stride-1 unpadded conv reads its input in place already.
  EXPECT_FALSE(ChanGridEligible(Conv({1, 16, 7, 7, 33, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1})));
}

// A channel-vectorised tile reaches the output either way (`transpose`): every chan seed of
// each shape, stored lane by lane and transposed, matches the reference. The shapes include
// pixel counts that no tile divides (shifted edge tiles), output rows that the row blocks of the
// grid do not divide, groups and a batch of 2.
TEST(Templates, ConvChannelTilesStoredEitherWay) {
  const std::vector<ConvSpec> shapes = {
      {1, 3, 11, 13, 10, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},   // odd sizes, 10 channels
      {2, 5, 9, 7, 16, 3, 2, 2, 1, 2, 0, 1, 1, 1, 1, 1},     // batch 2, stride 2 x 1
      {1, 6, 9, 9, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2},     // groups
      {1, 16, 7, 7, 33, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1},    // 1x1 read in place, 33 channels
      {1, 16, 13, 17, 40, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1},  // 1x1, 221 pixels
      {1, 16, 15, 13, 40, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1},  // 1x1 stride 2, odd input
      {1, 3, 23, 23, 8, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1}};   // a 7x7 stem
  Target host = Target::DetectHost();
  uint64_t seed = 2100;
  int checked[2] = {0, 0};
  for (const auto& sh : shapes) {
    Workload w = Conv(sh);
    ConfigSpace space = ContractionSpace(w, host);
    for (Config c : ContractionSeeds(w, host)) {
      if (c.Get("chan") != 1) continue;
      for (int t : {0, 1}) {
        c.knobs["transpose"] = t;
        if (!space.Contains(c)) continue;
        ExpectMatchesReference(w, c, ++seed);
        ++checked[t];
      }
    }
  }
  EXPECT_GE(checked[0], 14);
  EXPECT_EQ(checked[0], checked[1]);
}

// A channel-vectorised kernel reads its weights in panels of its register tile's width when that
// divides the channels per group (ChanWeightPanel): the seeds and random chan configs of shapes
// whose channels several panels hold, read in place and packed per call, match the reference.
TEST(Templates, ConvChannelWeightsInSeveralPanels) {
  const std::vector<ConvSpec> shapes = {
      {1, 8, 9, 9, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},    // 3x3, 64 channels
      {1, 16, 7, 7, 96, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1},   // 1x1 read in place, 96 channels
      {1, 8, 11, 9, 64, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 2}};  // groups of 32, stride 2
  Target host = Target::DetectHost();
  uint64_t seed = 3100;
  int panels[2] = {0, 0};  // configs with several panels, by pack_b == 0
  for (const auto& sh : shapes) {
    Workload w = Conv(sh);
    const int64_t kg = sh.k / sh.g;
    ConfigSpace space = ContractionSpace(w, host);
    std::vector<Config> configs;
    for (const Config& c : ContractionSeeds(w, host))
      if (c.Get("chan") == 1) configs.push_back(c);
    std::mt19937_64 rng(seed);
    for (int i = 0, n = 0; i < 2000 && n < 3; ++i) {
      auto c = space.Sample(rng);
      ASSERT_TRUE(c.has_value());
      if (c->Get("chan") != 1 || ChanWeightPanel(w, ContractionKnobs::From(*c)) == kg) continue;
      configs.push_back(*c);
      ++n;
    }
    for (const Config& c : configs) {
      ExpectMatchesReference(w, c, ++seed);
      if (ChanWeightPanel(w, ContractionKnobs::From(c)) < kg) ++panels[c.Get("pack_b") == 0 ? 0 : 1];
    }
  }
  EXPECT_GE(panels[0], 3);  // read in place
  EXPECT_GE(panels[1], 1);  // packed again per call (pack_b 1 or 2)
}

TEST(Templates, StoredConfigsWithoutTheNewerKnobsStillParse) {
  Workload w = Conv({1, 3, 11, 13, 10, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1});
  ConfigSpace space = ContractionSpace(w, Target::DetectHost());
  Config def = ContractionDefault(w, Target::DetectHost());
  Config old = def;
  old.knobs.erase("grid");
  old.knobs.erase("transpose");
  auto parsed = space.Parse(old.CanonicalJson());
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->Get("grid"), 0);
  EXPECT_EQ(parsed->Get("transpose"), 0);  // configs stored before the knob store lane by lane
}

// The lowered statement of `cfg` (Halide's text form; empty when the config does not define).
std::string LoweredStatement(const Workload& w, const Config& cfg) {
  auto f = DefineContraction(w, cfg, {});
  if (!f.ok()) return "";
  std::vector<Halide::Argument> args(f->params.begin(), f->params.end());
  const std::string path = ::testing::TempDir() + "/parallel_loop.stmt";
  f->out.compile_to_lowered_stmt(path, args, Halide::Text, Halide::get_host_target());
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Iterations of the parallel loop of the output stage in the lowered statement of `cfg` (0 when
// the output is computed in no parallel loop).
int OutputParallelIterations(const Workload& w, const Config& cfg) {
  const std::string s = LoweredStatement(w, cfg);
  if (s.empty()) return -1;
  // halide_do_par_for((void *)::NAME_par_for_out__7_s0_x_yo, 0, 20, ...): a loop of out's stage 0.
  static const std::regex loop(
      R"(halide_do_par_for\(\(void \*\)::\w*_par_for_out_+\d+_s0_\w*, 0, (\d+),)");
  int most = 0;
  for (auto it = std::sregex_iterator(s.begin(), s.end(), loop); it != std::sregex_iterator(); ++it)
    most = std::max(most, std::stoi((*it)[1]));
  return most;
}

// A conv whose output channels fit one register tile: with `order 1` and `par 0` its parallel
// loop (the column tiles) has one iteration, so the kernel ran on one core (DenseNet's 128->32 3x3
// convs, the template's default, at half the speed of the same tile on two). The schedule gives
// such a config every tile fused in one parallel loop (par 2's), packs per outer tile once,
// and computes the same values.
TEST(Templates, AParallelLoopOfOneIterationIsReplacedByAllTilesFused) {
  const Workload w = Conv({1, 24, 20, 20, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1});
  const Target host = Target::DetectHost();
  const ConfigSpace space = ContractionSpace(w, host);
  Config one_tile = ContractionDefault(w, host);
  ASSERT_EQ(one_tile.Get("chan"), 1);
  one_tile.knobs["order"] = 1;
  one_tile.knobs["par"] = 0;
  one_tile.knobs["rx"] = 1;
  one_tile.knobs["ty"] = 1;
  ASSERT_TRUE(space.Contains(one_tile)) << one_tile.CanonicalJson();
  auto a = DefineContractionAlgorithm(w, one_tile, {});
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(ParallelTasks(0, 1, a->c, a->TX, a->TY), 1);  // one column tile of 16 channels
  const int all = ParallelTasks(2, 1, a->c, a->TX, a->TY);
  EXPECT_EQ(all, (a->c.ny + a->TY - 1) / a->TY);  // every pixel tile
  EXPECT_GE(all, 2);
  EXPECT_EQ(EffectivePar(a->knobs, a->c, a->TX, a->TY), 2);
  EXPECT_EQ(OutputParallelIterations(w, one_tile), all);
  ExpectMatchesReference(w, one_tile, 31);
  Config per_tile = one_tile;  // B packed per outer column tile: there is one, packed once
  per_tile.knobs["pack_b"] = 2;
  ASSERT_TRUE(space.Contains(per_tile)) << per_tile.CanonicalJson();
  EXPECT_EQ(OutputParallelIterations(w, per_tile), all);
  ExpectMatchesReference(w, per_tile, 32);
  // Row tiles outer (order 0): many tiles, the config's own loop is kept.
  Config rows_outer = one_tile;
  rows_outer.knobs["order"] = 0;
  ASSERT_TRUE(space.Contains(rows_outer)) << rows_outer.CanonicalJson();
  auto b = DefineContractionAlgorithm(w, rows_outer, {});
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(EffectivePar(b->knobs, b->c, b->TX, b->TY), 0);
  EXPECT_EQ(OutputParallelIterations(w, rows_outer), all);  // the row tiles are its outer loop
}

// A grouped conv parallel over its groups (par 0, batch x groups >= 2) makes each group's padded
// grid or im2col matrix inside that loop, right before the group's product reads it, instead of
// every group's first in parallel loops of their own (a ResNeXt 512-channel 3x3 stride-2 conv of
// 32 groups: 108 -> 151 GFLOP/s). Same values; other parallel loops, and pixel panels packed once
// per call, keep the stage at the root.
TEST(Templates, AGroupedConvMakesEachGroupsOperandInsideItsParallelLoop) {
  const Target host = Target::DetectHost();
  for (int stride : {1, 2}) {
    const Workload w = Conv({2, 32, 13, 13, 32, 3, 3, stride, stride, 1, 1, 1, 1, 1, 1, 4});
    const ConfigSpace space = ContractionSpace(w, host);
    Config grid = ContractionDefault(w, host);
    grid.knobs["par"] = 0;
    grid.knobs["grid"] = 1;
    grid.knobs["im2col"] = 0;
    ASSERT_TRUE(space.Contains(grid)) << grid.CanonicalJson();
    Config im2col = grid;
    im2col.knobs["grid"] = 0;
    im2col.knobs["im2col"] = 1;
    ASSERT_TRUE(space.Contains(im2col)) << im2col.CanonicalJson();
    Config fused = grid;  // outer tiles x batches fused: the grid stays at the root
    fused.knobs["par"] = 1;
    ASSERT_TRUE(space.Contains(fused)) << fused.CanonicalJson();
    Config packed = im2col;  // the pixel panels packed once per call read every group's matrix
    packed.knobs["pack_a"] = 1;
    ASSERT_TRUE(space.Contains(packed)) << packed.CanonicalJson();
    for (const Config* cfg : {&grid, &im2col, &fused, &packed}) {
      SCOPED_TRACE(cfg->CanonicalJson());
      auto a = DefineContractionAlgorithm(w, *cfg, {});
      ASSERT_TRUE(a.ok()) << a.status().message();
      EXPECT_EQ(a->c.nb, 8);  // 2 images x 4 groups
      const bool per_batch = cfg == &grid || cfg == &im2col;
      EXPECT_EQ(a->stages.per_batch, per_batch);
      const std::string stmt = LoweredStatement(w, *cfg);
      ASSERT_FALSE(stmt.empty());
      const std::string stage = cfg->Get("im2col") == 1 ? "im2col" : "padded_flat";
      // Made at the root, the stage has parallel loops of its own; per batch it has none.
      EXPECT_EQ(stmt.find("_par_for_" + stage) != std::string::npos, !per_batch) << stage;
      const int par = EffectivePar(a->knobs, a->c, a->TX, a->TY);
      EXPECT_EQ(OutputParallelIterations(w, *cfg), ParallelTasks(par, a->knobs.order, a->c, a->TX, a->TY));
      ExpectMatchesReference(w, *cfg, 40 + stride);
    }
  }
}

}  // namespace
}  // namespace opal::tune
