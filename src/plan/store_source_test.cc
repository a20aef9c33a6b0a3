// StoreSource and CostModelSource against a real SQLite store in a temp directory. Expected times
// are computed here from the records written and the roofline's formulas, not by the source.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "opal/plan.h"
#include "opal/plan_perf.h"
#include "opal/record_store.h"
#include "opal/workload.h"
#include "plan/layer_gemms.h"

namespace opal::plan {
namespace {

const char* kA100 = "cuda arch=sm_80 cores=108 mem=80G model='NVIDIA A100-SXM4-80GB'";

// A tiny fp16 GPT: 2 blocks, h 64, 4 heads, s 32, f 256, v 128.
TransformerConfig Tiny() {
  TransformerConfig c;
  c.name = "tiny";
  c.layers = 2;
  c.hidden = 64;
  c.heads = 4;
  c.seq_len = 32;
  c.vocab = 128;
  c.global_batch = 8;
  return c;
}

GpuType Gpu(const std::string& name) {
  GpuType g;
  g.name = name;
  g.memory = 80e9;
  g.tensor_flops = 312e12;
  g.fp32_flops = 19.5e12;
  g.mem_bw = 2039e9;
  g.intra.peak = 300e9;
  return g;
}

Json Dense(int64_t m, int64_t n, int64_t k, bool ta = false, bool tb = false,
           const char* dtype = "float16") {
  return {{"op", "dense"}, {"dtype", dtype}, {"m", m},       {"n", n},
          {"k", k},        {"trans_a", ta},  {"trans_b", tb}};
}
Json Bmm(int64_t b, int64_t m, int64_t n, int64_t k) {
  return {{"op", "batch_matmul"}, {"dtype", "float16"}, {"batch", b}, {"m", m}, {"n", n}, {"k", k},
          {"broadcast", "none"}};
}

Record MakeRecord(const Json& workload, const std::string& target, double median,
                  TrialStatus status = TrialStatus::kOk) {
  auto w = Workload::FromJson(workload);
  EXPECT_TRUE(w.ok()) << w.status().message();
  auto t = Target::Parse(target);
  EXPECT_TRUE(t.ok());
  Record r;
  r.workload_key = w->Key();
  r.workload_json = w->CanonicalJson();
  r.op = w->op();
  r.target_key = t->ExactKey();
  r.target_coarse_key = t->CoarseKey();
  r.target_string = t->CanonicalString();
  r.framework = "test";
  r.framework_version = "1";
  r.config_json = "{\"median\":" + std::to_string(median) + "}";
  r.status = status;
  if (status != TrialStatus::kOk) r.error = "failed";
  r.times_s = {median * 0.9, median, median * 1.2};
  r.Finalize(w->Flops());
  return r;
}

// Forward products of a block at micro-batch 2, tp 1 (m = 64 tokens, 8 head-batches) and their
// medians; the head's LM projection is stored as bfloat16.
struct Fixture {
  std::vector<std::pair<Json, double>> block = {
      {Dense(64, 192, 64), 30e-6}, {Dense(64, 64, 64), 11e-6}, {Dense(64, 256, 64), 40e-6},
      {Dense(64, 64, 256), 41e-6}, {Bmm(8, 32, 32, 16), 7e-6}, {Bmm(8, 32, 16, 32), 8e-6}};
  std::pair<Json, double> head = {Dense(64, 128, 64, false, false, "bfloat16"), 25e-6};
  // 2x forward except the context product (see BlockTimeIsSumOfRecordMediansPlusNonGemmTerm).
  double BlockBwd() const {
    return 2 * (BlockSum() - block[5].second) + block[4].second + block[5].second;
  }
  double BlockSum() const {
    double s = 0;
    for (auto& [w, t] : block) s += t;
    return s;
  }
};

class StoreSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("opal_plan_store_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    dsn_ = "sqlite:" + (dir_ / "records.db").string();
    auto m = ModelFromTransformer(Tiny());
    ASSERT_TRUE(m.ok());
    model_ = *m;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void Put(const std::vector<Record>& recs) {
    auto s = RecordStore::Open(dsn_);
    ASSERT_TRUE(s.ok()) << s.status().message();
    auto n = (*s)->Put(recs);
    ASSERT_TRUE(n.ok()) << n.status().message();
  }
  // Writes the fixture's records, leaving out block product `skip` (-1: none).
  void PutFixture(int skip = -1) {
    std::vector<Record> recs;
    for (int i = 0; i < static_cast<int>(fx_.block.size()); ++i)
      if (i != skip) recs.push_back(MakeRecord(fx_.block[i].first, kA100, fx_.block[i].second));
    recs.push_back(MakeRecord(fx_.head.first, kA100, fx_.head.second));
    // A slower trial and a failed one of qkv: TopK must take the fastest valid record.
    recs.push_back(MakeRecord(fx_.block[0].first, kA100, 90e-6));
    recs.push_back(MakeRecord(fx_.block[0].first, kA100, 1e-6, TrialStatus::kMismatch));
    Put(recs);
  }
  std::shared_ptr<ChainSource> Chain() {
    auto store = RecordStore::Open(dsn_);
    EXPECT_TRUE(store.ok());
    std::map<std::string, Target> targets;
    targets.emplace("A100-80", *Target::Parse(kA100));
    targets.emplace(
        "A100-40",
        *Target::Parse("cuda arch=sm_80 cores=108 mem=40G model='NVIDIA A100-SXM4-40GB'"));
    store_ = std::make_shared<StoreSource>(std::move(*store), Tiny(), targets, roof_);
    auto chain = std::make_shared<ChainSource>();
    chain->Add(store_);
    chain->Add(roof_);
    return chain;
  }
  // The roofline of a block without its products, computed here: other bytes per sample
  // p (14sh + 2sf + 6as^2) over 0.6 of the bandwidth (default efficiencies, tp 1, no overhead).
  double NonGemmFwd(const GpuType& g, int mbs) const {
    const double s = 32, h = 64, f = 256, a = 4, p = 2;
    return p * (14 * s * h + 2 * s * f + 6 * a * s * s) * mbs / (g.mem_bw * 0.6);
  }

  std::filesystem::path dir_;
  std::string dsn_;
  ModelSpec model_;
  Fixture fx_;
  std::shared_ptr<const RooflineSource> roof_ = std::make_shared<RooflineSource>();
  std::shared_ptr<StoreSource> store_;
};

TEST_F(StoreSourceTest, BlockTimeIsSumOfRecordMediansPlusNonGemmTerm) {
  PutFixture();
  auto chain = Chain();
  const GpuType g = Gpu("A100-80");
  auto t = chain->Time(model_, 1, g, 2, 1);
  ASSERT_TRUE(t);
  EXPECT_STREQ(t->source, "store");
  const double other = NonGemmFwd(g, 2);
  EXPECT_NEAR(t->fwd, fx_.BlockSum() + other, 1e-12);
  // Backward: 2x forward for every product without dgrad+wgrad records, except the attention
  // context P[s,s] V[s,d]: its dgrad dP = dC V^T has the scores' shape (8 x 32x32x16) and its
  // wgrad dV = P^T dC its own (8 x 32x16x32), both stored, so it costs 7 + 8 us, not 2 x 8.
  EXPECT_NEAR(t->bwd, fx_.BlockBwd() + 2 * other, 1e-12);
  const double params = 4 * 64 * 64 + 2 * 64 * 256 + 9 * 64 + 256;
  EXPECT_NEAR(t->update, 2 * 16 * params / (g.mem_bw * 0.1), 1e-12);
  // The second block has the same products; the head its bf16 LM projection.
  auto t2 = chain->Time(model_, 2, g, 2, 1);
  ASSERT_TRUE(t2);
  EXPECT_STREQ(t2->source, "store");
  EXPECT_DOUBLE_EQ(t2->fwd, t->fwd);
  auto head = chain->Time(model_, 3, g, 2, 1);
  ASSERT_TRUE(head);
  EXPECT_STREQ(head->source, "store");
  EXPECT_GT(head->fwd, fx_.head.second);
  // The embedding has no products: the roofline answers.
  auto emb = chain->Time(model_, 0, g, 2, 1);
  ASSERT_TRUE(emb);
  EXPECT_STREQ(emb->source, "roofline");
  // Another micro-batch size has other shapes, without records: roofline.
  auto other_mbs = chain->Time(model_, 1, g, 4, 1);
  ASSERT_TRUE(other_mbs);
  EXPECT_STREQ(other_mbs->source, "roofline");
}

TEST_F(StoreSourceTest, BackwardUsesDgradAndWgradRecordsWhenStored) {
  PutFixture();
  // qkv Y[64,192] = X[64,64] W[64,192]: dX = dY W^T (64 x 64 x 192), dW = X^T dY (64 x 192 x 64).
  Put({MakeRecord(Dense(64, 64, 192, false, true), kA100, 33e-6),
       MakeRecord(Dense(64, 192, 64, true, false), kA100, 35e-6)});
  auto chain = Chain();
  const GpuType g = Gpu("A100-80");
  auto t = chain->Time(model_, 1, g, 2, 1);
  ASSERT_TRUE(t);
  const double qkv = fx_.block[0].second;
  EXPECT_NEAR(t->bwd, 33e-6 + 35e-6 + fx_.BlockBwd() - 2 * qkv + 2 * NonGemmFwd(g, 2), 1e-12);
  auto b = store_->Explain(model_, 1, g, 2, 1);
  ASSERT_EQ(b.gemms.size(), 6u);
  EXPECT_EQ(b.gemms[0].name, "qkv");
  EXPECT_TRUE(b.gemms[0].bwd_measured);
  EXPECT_FALSE(b.gemms[1].bwd_measured);
  EXPECT_EQ(b.gemms[5].name, "context");
  EXPECT_TRUE(b.gemms[5].bwd_measured);
  EXPECT_NEAR(b.gemms[5].bwd, 15e-6, 1e-15);
  EXPECT_NEAR(b.non_gemm.fwd, NonGemmFwd(g, 2), 1e-15);
}

TEST_F(StoreSourceTest, GpuWithoutRecordsFallsBackToRoofline) {
  PutFixture();
  auto chain = Chain();
  for (const char* name : {"A100-40", "V100-16"}) {  // a target without records; no target
    const GpuType g = Gpu(name);
    auto t = chain->Time(model_, 1, g, 2, 1);
    auto r = roof_->Time(model_, 1, g, 2, 1);
    ASSERT_TRUE(t && r);
    EXPECT_STREQ(t->source, "roofline") << name;
    EXPECT_DOUBLE_EQ(t->fwd, r->fwd);
  }
}

TEST_F(StoreSourceTest, MissingWorkloadFallsBackForThatLayer) {
  PutFixture(/*skip=*/3);  // no ffn_down record
  auto chain = Chain();
  const GpuType g = Gpu("A100-80");
  auto block = chain->Time(model_, 1, g, 2, 1);
  ASSERT_TRUE(block);
  EXPECT_STREQ(block->source, "roofline");
  EXPECT_DOUBLE_EQ(block->fwd, roof_->Time(model_, 1, g, 2, 1)->fwd);
  auto head = chain->Time(model_, 3, g, 2, 1);
  ASSERT_TRUE(head);
  EXPECT_STREQ(head->source, "store");
  auto b = store_->Explain(model_, 1, g, 2, 1);
  EXPECT_FALSE(b.time);
  EXPECT_NE(b.missing.find("ffn_down"), std::string::npos) << b.missing;
}

TEST_F(StoreSourceTest, PlanStageIsLabelledWithStoreAndRoofline) {
  PutFixture();
  auto chain = Chain();
  Cluster cluster;
  InstanceType inst;
  inst.name = "one";
  inst.gpu = "A100-80";
  inst.price_per_hour = 1;
  cluster.pools.push_back(Pool{Gpu("A100-80"), inst, 1});
  PlanContext ctx{&model_, &cluster, chain.get(), {}};
  Plan p;
  StagePlan st;
  st.first = 0;
  st.end = 4;
  p.stages.push_back(st);
  p.micro_batch = 2;
  p.num_micro = 4;
  ASSERT_TRUE(EstimatePlan(ctx, &p).ok());
  EXPECT_EQ(p.stages[0].source, "roofline+store");
}

// The products' FLOP (Workload::Flops) add up to the layer's matmul FLOP from the model's own
// formula, for every layer, micro-batch and tensor-parallel degree; tp 3 does not divide 4 heads.
TEST(LayerGemmsTest, FlopsMatchTheModelAndShardingRules) {
  TransformerConfig c = Tiny();
  auto m = ModelFromTransformer(c);
  ASSERT_TRUE(m.ok());
  for (int layer = 0; layer < 4; ++layer) {
    for (int mbs : {1, 2, 8}) {
      for (int tp : {1, 2, 4}) {
        auto gemms = LayerGemms(c, *m, layer, mbs, tp);
        if (layer == 0) {
          EXPECT_FALSE(gemms);  // embedding
          continue;
        }
        ASSERT_TRUE(gemms);
        double flops = 0, bwd = 0;
        for (const auto& g : *gemms) {
          flops += Workload::FromJson(WithDtype(g.fwd, "float16"))->Flops();
          bwd += Workload::FromJson(WithDtype(g.dgrad, "float16"))->Flops() +
                 Workload::FromJson(WithDtype(g.wgrad, "float16"))->Flops();
        }
        const double want = m->layers[layer].matmul_flops * mbs / tp;
        EXPECT_NEAR(flops, want, 1e-9 * want) << layer << " " << mbs << " " << tp;
        EXPECT_NEAR(bwd, 2 * want, 1e-9 * want);
      }
    }
  }
  EXPECT_FALSE(LayerGemms(c, *m, 1, 2, 3));
  c.layers = 3;  // another model than the one given
  EXPECT_FALSE(LayerGemms(c, *m, 1, 2, 1));
}

TEST(GpuTargets, ShippedMapParsesAndNamesCatalogGpus) {
  auto t = LoadGpuTargets(std::string(OPAL_SOURCE_DIR) + "/data/catalog/targets.json");
  ASSERT_TRUE(t.ok()) << t.status().message();
  ASSERT_TRUE(t->count("A100-80"));
  EXPECT_EQ(t->at("A100-80").ExactKey(), Target::Parse(kA100)->ExactKey());
  EXPECT_EQ(t->at("H100-80").CoarseKey(), "cuda-sm_90");
  auto cat = LoadCatalog(std::string(OPAL_SOURCE_DIR) + "/data/catalog/gpus.json");
  ASSERT_TRUE(cat.ok());
  for (const auto& g : cat->gpus) EXPECT_TRUE(t->count(g.name)) << g.name;
}

TEST(CostModelSourceTest, NoAbsoluteTimesButSaysWhy) {
  CostModelInfo info;
  info.objective = "rank:pairwise";
  info.targets = {Target::Parse(kA100)->ExactKey()};
  std::map<std::string, Target> targets;
  targets.emplace("A100-80", *Target::Parse(kA100));
  CostModelSource cm(info, targets);
  auto m = ModelFromTransformer(Tiny());
  ASSERT_TRUE(m.ok());
  EXPECT_FALSE(cm.Time(*m, 1, Gpu("A100-80"), 2, 1));
  EXPECT_TRUE(cm.Covers(Gpu("A100-80")));
  EXPECT_FALSE(cm.Covers(Gpu("T4")));
  EXPECT_NE(cm.Why(Gpu("A100-80")).find("relative"), std::string::npos);
  EXPECT_NE(cm.Why(Gpu("T4")).find("no target"), std::string::npos);
}

}  // namespace
}  // namespace opal::plan
