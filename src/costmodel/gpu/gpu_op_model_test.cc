#include "opal/gpu_op_model.h"

#include <gtest/gtest.h>

#include <cmath>

namespace opal {
namespace {

GpuSpec Spec(const std::string& name, int cc, int sms, double fp32_tf, double tensor_tf,
             double bw_gbs, double l2_mb) {
  GpuSpec g;
  g.name = name;
  g.compute_capability = cc;
  g.sms = sms;
  g.fp32_flops = fp32_tf * 1e12;
  g.tensor_flops = tensor_tf * 1e12;
  g.mem_bw = bw_gbs * 1e9;
  g.l2_bytes = l2_mb * 1048576;
  return g;
}

std::map<std::string, GpuSpec> ThreeGpus() {
  return {{"a", Spec("a", 70, 80, 15.7, 125, 900, 6)},
          {"b", Spec("b", 60, 56, 10.6, 21.2, 732, 4)},
          {"c", Spec("c", 61, 28, 11.3, 11.3, 484, 2.75)}};
}

TEST(GpuSpec, MatmulPeakByDtypeAndArchitecture) {
  auto g = ThreeGpus();
  EXPECT_DOUBLE_EQ(g["a"].MatmulPeak("float16"), 125e12);   // tensor cores
  EXPECT_DOUBLE_EQ(g["b"].MatmulPeak("float16"), 10.6e12);  // Pascal: fp32 arithmetic
  EXPECT_DOUBLE_EQ(g["a"].MatmulPeak("float32"), 15.7e12);
  GpuSpec ampere = Spec("amp", 80, 108, 19.5, 312, 2039, 40);
  ampere.tf32_flops = 156e12;
  EXPECT_DOUBLE_EQ(ampere.MatmulPeak("float32"), 156e12);
  EXPECT_DOUBLE_EQ(ampere.MatmulPeak("bfloat16"), 312e12);
}

// Hand-computed: on GPU "a" (15.7 fp32 TFLOP/s, 125 fp16 tensor TFLOP/s, 900 GB/s) a 4096^3
// fp32 GEMM takes 2 x 4096^3 = 137.44 GFLOP / 15.7e12 = 8.754 ms of compute against
// 4 x 3 x 4096^2 = 201.3 MB / 900e9 = 0.2237 ms of memory: compute-bound, 8.754 ms. A 4096 x 16
// x 4096 fp16 product is memory-bound: 2 x (4096^2 + 2 x 4096 x 16) = 33.82 MB / 900e9 =
// 37.574 us, against 2 x 4096 x 16 x 4096 = 0.5369 GFLOP / 125e12 = 4.295 us.
TEST(GpuOp, RooflineIsTheSlowerOfComputeAndMemory) {
  const GpuSpec a = ThreeGpus()["a"];
  EXPECT_NEAR(RooflineSeconds(GpuOp::Gemm("float32", 4096, 4096, 4096), a), 8.7541e-3, 1e-7);
  EXPECT_NEAR(RooflineSeconds(GpuOp::Gemm("float16", 4096, 16, 4096), a), 37.574e-6, 1e-9);
  // On Pascal ("b": fp16 at the fp32 rate, 10.6 TFLOP/s) the 4096^3 fp16 GEMM is compute-bound
  // at 137.44e9 / 10.6e12 = 12.966 ms.
  EXPECT_NEAR(RooflineSeconds(GpuOp::Gemm("float16", 4096, 4096, 4096), ThreeGpus()["b"]),
              12.966e-3, 1e-6);
}

TEST(GpuOp, WorkloadsBecomeOpsWithTheirFlops) {
  auto dense = Workload::FromJson(Json::parse(
      R"({"op":"dense","dtype":"float16","m":16,"n":1760,"k":1760,"trans_a":false,"trans_b":true})"));
  ASSERT_TRUE(dense.ok());
  auto op = GpuOp::FromWorkload(*dense);
  ASSERT_TRUE(op.ok()) << op.status().message();
  EXPECT_EQ(op->pass, GpuOpPass::kGemm);
  EXPECT_TRUE(op->trans_b);
  EXPECT_DOUBLE_EQ(op->Flops(), dense->Flops());
  EXPECT_DOUBLE_EQ(op->Bytes(), 2.0 * (16 * 1760 + 1760 * 1760 + 16 * 1760));

  auto conv = Workload::FromJson(Json::parse(
      R"({"op":"conv2d","dtype":"float32","layout":"NCHW","n":8,"c":64,"h":56,"w":56,"k":128,
          "kh":3,"kw":3,"stride_h":2,"stride_w":2,"pad_top":1,"pad_left":1,"pad_bottom":1,
          "pad_right":1,"dilation_h":1,"dilation_w":1,"groups":1})"));
  ASSERT_TRUE(conv.ok());
  auto c = GpuOp::FromWorkload(*conv);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->OutH(), 28);
  EXPECT_DOUBLE_EQ(c->Flops(), conv->Flops());
  // Forward and backward-filter products carry the forward FLOPs exactly.
  for (GpuOpPass pass : {GpuOpPass::kConvForward, GpuOpPass::kConvBackwardFilter}) {
    GpuOp p = *c;
    p.pass = pass;
    auto g = p.AsGemm();
    EXPECT_DOUBLE_EQ(2 * g[0] * g[1] * g[2] * g[3], c->Flops()) << GpuOpPassName(pass);
  }
  // Backward data with stride 2: each input pixel sees ceil(3/2)^2 = 4 of the 9 taps.
  GpuOp bd = *c;
  bd.pass = GpuOpPass::kConvBackwardData;
  EXPECT_DOUBLE_EQ(bd.AsGemm()[3], 128.0 * 4);
  EXPECT_NE(bd.Key(), c->Key());

  auto grouped = Json::parse(conv->CanonicalJson());
  grouped["groups"] = 2;
  auto gw = Workload::FromJson(grouped);
  ASSERT_TRUE(gw.ok());
  EXPECT_EQ(GpuOp::FromWorkload(*gw).status().code(), ErrorCode::kUnsupported);
}

// A model with known, plausible parameters (not the fit's starting point): 9 us per call, tile
// exponent 0.45, k0 64, 83 % of the memory bandwidth, 82 % of the peak, q = 2, one tile per SM,
// a quarter of the re-reads past L2 missing.
Result<GpuOpModel> Truth() {
  return GpuOpModel::FromJson(Json::parse(R"({"passes": {"gemm": {"params": {
      "log_t0_us": 2.2, "tile_alpha": 0.45, "log_k0": 4.16, "logit_mem_eff": 1.6,
      "logit_compute_eff": 1.5, "log_winograd": 0.59, "log_q": 0.69, "log_occupancy": 0.0,
      "log_stride": 0.4, "logit_l2_miss": -1.1}}}})"));
}

// Samples timed by a model with known parameters on three GPUs: a model fitted on two predicts the
// third (the analytic form can represent the truth, so the error must be small).
std::vector<GpuOpSample> SyntheticSamples(const GpuOpModel& truth,
                                          const std::map<std::string, GpuSpec>& gpus) {
  std::vector<GpuOpSample> v;
  for (int64_t m : {16, 64, 256, 1024, 4096})
    for (int64_t n : {512, 1760, 4096})
      for (int64_t k : {256, 1024, 4096})
        for (const char* dtype : {"float32", "float16"})
          for (const auto& [name, g] : gpus) {
            GpuOp op = GpuOp::Gemm(dtype, m, n, k);
            v.push_back({op, name, truth.Analytic(op, g)});
          }
  return v;
}

TEST(GpuOpModel, RecoversTheTimesOfAnUnseenGpu) {
  auto gpus = ThreeGpus();
  auto truth = Truth();
  ASSERT_TRUE(truth.ok()) << truth.status().message();
  auto samples = SyntheticSamples(*truth, gpus);
  auto errors = LeaveOneGpuOut(samples, gpus);
  ASSERT_TRUE(errors.ok()) << errors.status().message();
  ASSERT_EQ(errors->size(), 6u);  // three GPUs, two dtypes each
  for (const auto& e : *errors) EXPECT_LT(e.mape, 5.0) << e.gpu << " " << e.dtype;
}

TEST(GpuOpModel, UsesTheSameOpMeasuredOnOtherGpus) {
  auto gpus = ThreeGpus();
  auto truth = Truth();
  ASSERT_TRUE(truth.ok());
  // Every op is 1.3x or 0.75x its analytic time on every GPU (an idiosyncrasy of the library
  // that the analytic form cannot know): the measurements elsewhere carry it to the unseen GPU.
  std::vector<GpuOpSample> samples = SyntheticSamples(*truth, gpus);
  for (size_t i = 0; i < samples.size(); ++i)
    samples[i].seconds *= (samples[i].op.m / 16 + samples[i].op.k / 256) % 2 ? 1.3 : 0.75;
  std::vector<GpuOpSample> train;
  for (const auto& s : samples)
    if (s.gpu != "c") train.push_back(s);
  auto model = GpuOpModel::Fit(train, gpus);
  ASSERT_TRUE(model.ok());
  double err = 0, analytic = 0;
  int n = 0;
  for (const auto& s : samples) {
    if (s.gpu != "c") continue;
    err += std::fabs(model->Predict(s.op, gpus.at("c")) - s.seconds) / s.seconds;
    analytic += std::fabs(model->Analytic(s.op, gpus.at("c")) - s.seconds) / s.seconds;
    ++n;
  }
  // The analytic part alone misses the factors (about 20 %); the corrections bring the error
  // under 10 %, left by the analytic parameters the factors pulled off the truth.
  EXPECT_LT(100 * err / n, 10.0) << "analytic alone " << 100 * analytic / n;
  EXPECT_LT(err, 0.5 * analytic);
  EXPECT_GT(model->ToJson()["passes"]["gemm"]["transfer"]["float32"]["blend"].get<double>(), 0.5);
}

TEST(GpuOpModel, RejectsSamplesItCannotUse) {
  auto gpus = ThreeGpus();
  EXPECT_EQ(GpuOpModel::Fit({}, gpus).status().code(), ErrorCode::kInvalidArgument);
  GpuOpSample s{GpuOp::Gemm("float32", 64, 64, 64), "unknown", 1e-5};
  auto r = GpuOpModel::Fit({s}, gpus);
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("unknown"), std::string::npos);
  s.gpu = "a";
  EXPECT_EQ(LeaveOneGpuOut({s}, gpus).status().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace opal
