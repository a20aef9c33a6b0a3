// Slow tier: many random configs of the space per workload must match the reference, and a
// longer evolutionary tuning run keeps every trial as a record without measuring a config twice.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>

#include "opal/record_store.h"
#include "opal/tuning_search.h"
#include "tune/contraction.h"
#include "tune/contraction_space.h"
#include "opal/tuning_kernel.h"
#include "tune/kernel_measure.h"
#include "tune/reference_kernels.h"

namespace opal::tune {
namespace {

Workload FromJson(const char* s) { return Workload::FromJson(Json::parse(s)).value(); }

void CheckRandomConfigs(const Workload& w, int n, uint64_t seed) {
  Target host = Target::DetectHost();
  ConfigSpace space = ContractionSpace(w, host);
  std::mt19937_64 rng(seed);
  OperandShapes shapes = OperandsOf(w);
  for (int i = 0; i < n; ++i) {
    auto cfg = space.Sample(rng);
    ASSERT_TRUE(cfg.has_value());
    SCOPED_TRACE(w.Summary() + " " + cfg->CanonicalJson());
    auto kernel = BuildHalideKernel(w, *cfg);
    ASSERT_TRUE(kernel.ok()) << kernel.status().message();
    std::uniform_real_distribution<float> dist(-1.f, 1.f);
    std::vector<AlignedFloats> in;
    std::vector<const float*> ptrs;
    for (const auto& s : shapes.inputs) {
      in.emplace_back(NumElements(s));
      for (int64_t j = 0; j < in.back().size(); ++j) in.back().data()[j] = dist(rng);
      ptrs.push_back(in.back().data());
    }
    AlignedFloats out(NumElements(shapes.output));
    std::fill(out.data(), out.data() + out.size(), NAN);
    ASSERT_TRUE((*kernel)->Run(ptrs, out.data()).ok());
    for (int64_t j = 0; j < out.size(); ++j) {
      double abs_sum;
      double want = ReferenceElement(w, ptrs, j, &abs_sum);
      ASSERT_LE(std::fabs(out.data()[j] - want), 1e-5 * abs_sum + 1e-6) << "element " << j;
    }
  }
}

TEST(TemplatesSlow, RandomConfigsMatchReference) {
  CheckRandomConfigs(
      FromJson(
          R"({"op":"dense","dtype":"float32","m":67,"n":131,"k":89,"trans_a":true,"trans_b":false})"),
      12, 1);
  CheckRandomConfigs(
      FromJson(
          R"({"op":"dense","dtype":"float32","m":53,"n":97,"k":300,"trans_a":false,"trans_b":true})"),
      12, 2);
  CheckRandomConfigs(
      FromJson(
          R"({"op":"batch_matmul","dtype":"float32","batch":5,"m":23,"n":41,"k":19,"broadcast":"a"})"),
      10, 3);
  CheckRandomConfigs(
      FromJson(
          R"({"op":"conv2d","dtype":"float32","layout":"NCHW","n":2,"c":12,"h":15,"w":17,"k":20,"kh":3,"kw":3,"stride_h":2,"stride_w":1,"pad_top":1,"pad_left":2,"pad_bottom":0,"pad_right":1,"dilation_h":1,"dilation_w":2,"groups":4})"),
      12, 4);
  CheckRandomConfigs(
      FromJson(
          R"({"op":"conv2d","dtype":"float32","layout":"NCHW","n":1,"c":16,"h":13,"w":13,"k":16,"kh":3,"kw":3,"stride_h":1,"stride_w":1,"pad_top":1,"pad_left":1,"pad_bottom":1,"pad_right":1,"dilation_h":1,"dilation_w":1,"groups":16})"),
      8, 5);
  CheckRandomConfigs(
      FromJson(
          R"({"op":"conv2d","dtype":"float32","layout":"NCHW","n":1,"c":24,"h":7,"w":7,"k":40,"kh":1,"kw":1,"stride_h":1,"stride_w":1,"pad_top":0,"pad_left":0,"pad_bottom":0,"pad_right":0,"dilation_h":1,"dilation_w":1,"groups":1})"),
      10, 6);
}

TEST(SearchSlow, EvolutionaryRunRecordsEveryTrialOnce) {
  auto fw = MakeTuningFramework("halide").value();
  auto store = RecordStore::Open("memory:").value();
  Workload w = FromJson(
      R"({"op":"conv2d","dtype":"float32","layout":"NCHW","n":1,"c":32,"h":28,"w":28,"k":32,"kh":3,"kw":3,"stride_h":1,"stride_w":1,"pad_top":1,"pad_left":1,"pad_bottom":1,"pad_right":1,"dilation_h":1,"dilation_w":1,"groups":1})");
  SearchOptions o;
  o.max_trials = 40;
  o.seed = 11;
  o.measure.lock_path = testing::TempDir() + "/opal-slow-search.lock";
  auto r = TuneWorkload(*fw, w, Target::DetectHost(), *store, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->trials, 40);
  EXPECT_EQ(r->failed, 0);
  std::set<std::string> configs;
  ASSERT_TRUE(store
                  ->Scan({},
                         [&](const Record& rec) {
                           EXPECT_TRUE(configs.insert(rec.config_json).second);
                           return true;
                         })
                  .ok());
  EXPECT_EQ(configs.size(), 40u);
}

}  // namespace
}  // namespace opal::tune
