// The branch-and-bound search against plain enumeration of the same space (BruteForcePlan):
// random small instances (<= 8 layers, <= 3 GPU types, <= 8 GPUs), every goal.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "opal/plan_report.h"
#include "opal/plan_search.h"
#include "plan/search_space.h"
#include "plan/time_bound.h"

// The slow tier compiles this file again with more instances under another suite name.
#ifndef OPAL_PLAN_TRIALS
#define OPAL_PLAN_TRIALS 5
#define OPAL_PLAN_MAX_BLOCKS 4
#define OPAL_PLAN_SUITE PlanSearch
#define OPAL_PLAN_MIXED 0
#endif

namespace opal::plan {
namespace {

// Layer times drawn at random per (layer, GPU, micro-batch, tp): the search must not rely on
// any structure of the roofline.
class RandomSource : public PerfSource {
 public:
  explicit RandomSource(uint32_t seed) : seed_(seed) {}
  std::optional<LayerTime> Time(const ModelSpec&, int layer, const GpuType& gpu, int mbs,
                                int tp) const override {
    std::seed_seq seq{seed_, static_cast<uint32_t>(layer),
                      static_cast<uint32_t>(gpu.name.size() * 131 + gpu.name[0]),
                      static_cast<uint32_t>(mbs), static_cast<uint32_t>(tp)};
    std::mt19937 rng(seq);
    std::uniform_real_distribution<double> u(0.5, 2.0);
    double base = mbs * u(rng) * 1e-3 / std::sqrt(static_cast<double>(tp));
    return LayerTime{base, 2 * base * u(rng), 1e-4 * u(rng), "random"};
  }
  std::string Name() const override { return "random"; }

 private:
  uint32_t seed_;
};

Pool MakePool(const std::string& name, int count, int per_node, double mem_gb, double price,
              double net_gbs) {
  Pool p;
  p.gpu.name = name;
  p.gpu.memory = mem_gb * 1e9;
  p.gpu.tensor_flops = 100e12;
  p.gpu.fp32_flops = 10e12;
  p.gpu.mem_bw = 1e12;
  p.gpu.intra.peak = 100e9;
  p.instance.name = name + "-node";
  p.instance.gpu = name;
  p.instance.gpus_per_node = per_node;
  p.instance.network = net_gbs * 1e9 * per_node;
  p.instance.price_per_hour = price * per_node;
  p.count = count;
  return p;
}

struct Instance {
  ModelSpec model;
  Cluster cluster;
};

Instance RandomInstance(std::mt19937& rng) {
  Instance in;
  std::uniform_int_distribution<int> layers(2, OPAL_PLAN_MAX_BLOCKS), types(1, 3), gpus(1, 4),
      gb(0, 2);
  TransformerConfig c;
  c.name = "tiny";
  c.layers = layers(rng);  // + embedding + head: <= OPAL_PLAN_MAX_BLOCKS + 2 layers
  c.hidden = 1024;
  c.heads = 8;
  c.seq_len = 512;
  c.vocab = 8000;
  c.global_batch = std::vector<int>{4, 8, 12}[gb(rng)];
  c.iterations = 1000;
  in.model = *ModelFromTransformer(c);
  int n = types(rng), total = 0;
  const char* names[] = {"fast", "big", "cheap"};
  std::uniform_real_distribution<double> mem(1.0, 4.0), price(0.5, 4.0), net(1.0, 50.0);
  for (int i = 0; i < n && total < 8; ++i) {
    int count = std::min(gpus(rng), 8 - total);
    total += count;
    in.cluster.pools.push_back(
        MakePool(names[i], count, std::min(count, 2 + i), mem(rng), price(rng), net(rng)));
  }
  return in;
}

TEST(OPAL_PLAN_SUITE, SameOptimumAsBruteForceOnRandomSmallInstances) {
  // The fast tier runs a few instances; the slow tier (OPAL_PLAN_EXHAUSTIVE) many more, up to
  // 8 layers.
  constexpr int kTrials = OPAL_PLAN_TRIALS;
  std::mt19937 rng(20240611);
  int compared = 0, feasible = 0;
  for (int trial = 0; trial < kTrials; ++trial) {
    Instance in = RandomInstance(rng);
    RandomSource perf(static_cast<uint32_t>(trial));
    CostOptions co;
    co.reserve_bytes = 0.5e9;
    PlanContext ctx{&in.model, &in.cluster, &perf, co};
    std::vector<Goal> goals = {{Goal::Kind::kThroughput, 0},
                               {Goal::Kind::kMinCostPerIter, 0},
                               {Goal::Kind::kMinTimeHourlyCap, 6.0},
                               {Goal::Kind::kMinCostDeadline, 60.0},
                               {Goal::Kind::kMinTimeBudget, 5.0}};
    SearchOptions o;
    o.max_stages = 3;
    o.max_tp = 4;
    o.max_mixed_replicas = OPAL_PLAN_MIXED;
    for (const Goal& g : goals) {
      auto bf = BruteForcePlan(ctx, g, o);
      auto bb = SearchPlan(ctx, g, o);
      ASSERT_TRUE(bf.ok() && bb.ok()) << bf.status().message() << bb.status().message();
      ASSERT_EQ(bf->found, bb->found) << "trial " << trial << " goal " << g.Describe();
      ++compared;
      if (!bf->found) continue;
      ++feasible;
      EXPECT_TRUE(bb->stats.complete);
      EXPECT_LE(bb->stats.lower_bound, bf->objective * (1 + 1e-9))
          << "trial " << trial << " goal " << g.Describe();
      EXPECT_NEAR(bb->objective, bf->objective, 1e-9 * bf->objective)
          << "trial " << trial << " goal " << g.Describe();
      // The returned plan really has that value when scored on its own.
      Plan p = bb->best;
      ASSERT_TRUE(EstimatePlan(ctx, &p).ok());
      EXPECT_NEAR(Objective(g, in.model, p), bf->objective, 1e-9 * bf->objective);
    }
  }
  EXPECT_EQ(compared, kTrials * 5);
  EXPECT_GT(feasible, kTrials * 2);  // most instances have plans: the comparison is not vacuous
}

TEST(OPAL_PLAN_SUITE, SameOptimumAsBruteForceWithStagesOnTwoPools) {
  // Stages whose replicas sit on two pools (one replica on each, the micro-batch split between
  // them) join the space; the search still finds brute force's optimum.
  std::mt19937 rng(20250101);
  int mixed_best = 0;
  for (int trial = 0; trial < 4; ++trial) {
    Instance in = RandomInstance(rng);
    // Single-GPU nodes: with one stage, only a stage on both pools uses both GPUs.
    in.cluster.pools = {MakePool("fast", 1 + trial % 2, 1, 4, 3, 20),
                        MakePool("slow", 1 + trial % 2, 1, 4, 1, 20)};
    RandomSource perf(100 + static_cast<uint32_t>(trial));
    CostOptions co;
    co.reserve_bytes = 0.5e9;
    PlanContext ctx{&in.model, &in.cluster, &perf, co};
    SearchOptions o;
    o.max_stages = 1 + trial / 2;
    o.max_tp = 2;
    o.max_mixed_replicas = 2;
    for (const Goal& g : {Goal{Goal::Kind::kThroughput, 0}, Goal{Goal::Kind::kMinCostPerIter, 0}}) {
      auto bf = BruteForcePlan(ctx, g, o);
      auto bb = SearchPlan(ctx, g, o);
      ASSERT_TRUE(bf.ok() && bb.ok());
      ASSERT_EQ(bf->found, bb->found) << "trial " << trial;
      if (!bf->found) continue;
      EXPECT_NEAR(bb->objective, bf->objective, 1e-9 * bf->objective) << "trial " << trial;
      for (const auto& st : bf->best.stages) mixed_best += !st.mixed.empty();
    }
  }
  EXPECT_GT(mixed_best, 0) << "no optimum used a stage on two pools: the test would not see them";
}

TEST(OPAL_PLAN_SUITE, TimeLowerBoundNeverAboveTheFastestPlan) {
  // Per micro-batch size, the relaxation's bound (refined to the end) against brute force's
  // fastest plan of that size; it must also be tighter than the space's own bound somewhere, or
  // the test would not exercise it.
  std::mt19937 rng(20261206);
  int compared = 0, tighter = 0;
  for (int trial = 0; trial < OPAL_PLAN_TRIALS + 3; ++trial) {
    Instance in = RandomInstance(rng);
    RandomSource perf(1000 + static_cast<uint32_t>(trial));
    CostOptions co;
    co.reserve_bytes = 0.5e9;
    PlanContext ctx{&in.model, &in.cluster, &perf, co};
    SearchOptions o;
    o.max_stages = 3;  // brute force's reach; the bound holds for any number of stages
    o.max_tp = 4;
    o.max_mixed_replicas = OPAL_PLAN_MIXED;
    const ModelPrefix pre(in.model);
    LayerTimeCache cache(ctx);
    for (int b : MicroBatchCandidates(in.model, o)) {
      o.micro_batches = {b};
      auto bf = BruteForcePlan(ctx, Goal{}, o);
      ASSERT_TRUE(bf.ok());
      if (!bf->found) continue;
      const SpaceForBatch sp = BuildSpace(ctx, o, b, &cache);
      const TimeBound tb = PlanTimeLowerBound(ctx, sp, pre, 2 * bf->objective,
                                              std::chrono::steady_clock::time_point::max());
      EXPECT_LE(tb.seconds, bf->objective * (1 + 1e-9)) << "trial " << trial << " b " << b;
      const int L = static_cast<int>(in.model.layers.size());
      std::vector<int> counts;
      for (const auto& p : in.cluster.pools) counts.push_back(p.count);
      const double own = sp.lb_sum[L] + (sp.num_micro - 1) *
                                            std::max(sp.CycleBound(L, counts), sp.full_cycle_bound);
      tighter += tb.seconds > own * (1 + 1e-6);
      ++compared;
    }
  }
  EXPECT_GT(compared, 10);
  EXPECT_GT(tighter, 0);
}

TEST(OPAL_PLAN_SUITE, StageChargesPinnedByHand) {
  // An embedding (fb 1 ms, tail 10 ms), 10 blocks (10 ms, 50 ms), a head (4 ms, 20 ms); a
  // stage's side of two transfers 2 ms, cycle C = 45 ms, tail tau = 1 s.
  std::vector<ClassFigures> cls = {{1, 0.001, 0.01}, {10, 0.010, 0.05}, {1, 0.004, 0.02}};
  // Uniform with k_all = 5: 12 / 5 = 2.4. Blocks: k_big = min(8, floor(43 / 10) = 4,
  // floor(1 / 0.05) = 20) = 4: 10 / 4 = 2.5. Time: (1 + 100 + 4) / 43 = 2.44. Blocks win.
  auto w = StageCharges(cls, 1, 5, 8, 0.002, 0.045, 1.0);
  ASSERT_EQ(w.size(), 3u);
  EXPECT_DOUBLE_EQ(w[0], 0);
  EXPECT_DOUBLE_EQ(w[1], 0.25);
  EXPECT_DOUBLE_EQ(w[2], 0);
  // The tail caps blocks at floor(0.1 / 0.05) = 2 per stage: 10 / 2 = 5.
  w = StageCharges(cls, 1, 5, 8, 0.002, 0.045, 0.1);
  EXPECT_DOUBLE_EQ(w[1], 0.5);
  // k_all = 3: uniform 12 / 3 = 4 beats the blocks' 2.5.
  w = StageCharges(cls, 1, 3, 8, 0.002, 0.045, 1.0);
  EXPECT_DOUBLE_EQ(w[0], 1.0 / 3);
  EXPECT_DOUBLE_EQ(w[1], 1.0 / 3);
  // A 40 ms head: time (1 + 100 + 40) / 49.9 = 2.826 beats blocks 10 / floor(49.9 / 10) = 2.5.
  cls[2].fb = 0.040;
  w = StageCharges(cls, 1, 6, 8, 0.002, 0.0519, 1.0);  // uniform: 12 / 6 = 2
  EXPECT_NEAR(w[1], 0.010 / 0.0499, 1e-12);
  EXPECT_NEAR(w[2], 0.040 / 0.0499, 1e-12);
  // No stage holds a block (C below one block's time and its transfers): nothing is charged by
  // the blocks' rule, and without a cycle (C infinite) only the uniform one applies.
  w = StageCharges(cls, 1, 0, 8, 0.002, 0.011, 1.0);
  EXPECT_NEAR(w[1], 0.010 / 0.009, 1e-12);
  w = StageCharges(cls, 1, 4, 8, 0.002, std::numeric_limits<double>::infinity(), 1.0);
  EXPECT_DOUBLE_EQ(w[1], 0.25);
}

TEST(OPAL_PLAN_SUITE, SameResultOnOneThreadAndOnSeveral) {
  // The micro-batch sizes' bounds and seeds, and the report's searches, run side by side
  // (SearchOptions::threads); without a time limit the plan, its bound and the report do not
  // depend on how many threads ran them.
  std::mt19937 rng(424242);
  int reports = 0;
  for (int trial = 0; trial < 4; ++trial) {
    Instance in = RandomInstance(rng);
    RandomSource perf(900 + static_cast<uint32_t>(trial));
    CostOptions co;
    co.reserve_bytes = 0.5e9;
    PlanContext ctx{&in.model, &in.cluster, &perf, co};
    SearchOptions one, many;
    one.max_stages = many.max_stages = 3;
    one.max_tp = many.max_tp = 4;
    one.threads = 1;
    many.threads = 5;
    for (const Goal& g : {Goal{Goal::Kind::kThroughput, 0}, Goal{Goal::Kind::kMinCostPerIter, 0}}) {
      auto a = SearchPlan(ctx, g, one), b = SearchPlan(ctx, g, many);
      ASSERT_TRUE(a.ok() && b.ok());
      ASSERT_EQ(a->found, b->found) << "trial " << trial;
      if (!a->found) continue;
      EXPECT_EQ(a->objective, b->objective) << "trial " << trial;
      EXPECT_EQ(a->stats.lower_bound, b->stats.lower_bound) << "trial " << trial;
      ASSERT_EQ(a->best.stages.size(), b->best.stages.size()) << "trial " << trial;
      for (size_t i = 0; i < a->best.stages.size(); ++i) {
        EXPECT_EQ(a->best.stages[i].first, b->best.stages[i].first);
        EXPECT_EQ(a->best.stages[i].pool, b->best.stages[i].pool);
        EXPECT_EQ(a->best.stages[i].dp, b->best.stages[i].dp);
      }
    }
    auto ra = MakePlanReport(ctx, Goal{}, one), rb = MakePlanReport(ctx, Goal{}, many);
    ASSERT_TRUE(ra.ok() && rb.ok());
    ASSERT_EQ(ra->homogeneous.size(), rb->homogeneous.size());
    for (size_t i = 0; i < ra->homogeneous.size(); ++i)
      EXPECT_EQ(ra->homogeneous[i].objective, rb->homogeneous[i].objective) << "pool " << i;
    ASSERT_EQ(ra->pareto.size(), rb->pareto.size()) << "trial " << trial;
    for (size_t i = 0; i < ra->pareto.size(); ++i)
      EXPECT_EQ(ra->pareto[i].iter_time, rb->pareto[i].iter_time);
    reports += !ra->pareto.empty();
  }
  EXPECT_GT(reports, 0) << "no instance had a plan: the comparison would be vacuous";
}

TEST(OPAL_PLAN_SUITE, OnlyPoolRestrictsToOneGpuType) {
  std::mt19937 rng(7);
  Instance in = RandomInstance(rng);
  in.cluster.pools = {MakePool("a", 4, 4, 8, 1, 10), MakePool("b", 4, 4, 8, 3, 10)};
  RandomSource perf(3);
  PlanContext ctx{&in.model, &in.cluster, &perf, {}};
  SearchOptions o;
  o.only_pool = 1;
  auto r = SearchPlan(ctx, Goal{}, o);
  ASSERT_TRUE(r.ok() && r->found);
  for (const auto& s : r->best.stages) EXPECT_EQ(s.pool, 1);
}

TEST(OPAL_PLAN_SUITE, NothingFitsInTinyMemory) {
  std::mt19937 rng(9);
  Instance in = RandomInstance(rng);
  in.cluster.pools = {MakePool("tiny", 8, 8, 0.01, 1, 10)};
  RandomSource perf(1);
  PlanContext ctx{&in.model, &in.cluster, &perf, {}};
  auto r = SearchPlan(ctx, Goal{}, {});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->found);
  auto rep = MakePlanReport(ctx, Goal{}, {});
  ASSERT_TRUE(rep.ok());
  EXPECT_FALSE(rep->best.found);
}

TEST(OPAL_PLAN_SUITE, JobGoalsNeedTheJobLength) {
  std::mt19937 rng(11);
  Instance in = RandomInstance(rng);
  in.model.iterations = 0;
  RandomSource perf(1);
  PlanContext ctx{&in.model, &in.cluster, &perf, {}};
  auto r = SearchPlan(ctx, Goal{Goal::Kind::kMinTimeBudget, 100}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
}

TEST(OPAL_PLAN_SUITE, GoalParsing) {
  EXPECT_EQ(Goal::Parse("deadline=2h")->limit, 7200);
  EXPECT_EQ(Goal::Parse("deadline=90m")->limit, 5400);
  EXPECT_EQ(Goal::Parse("budget=5000")->kind, Goal::Kind::kMinTimeBudget);
  EXPECT_EQ(Goal::Parse("hourly=12.5")->limit, 12.5);
  EXPECT_FALSE(Goal::Parse("fastest").ok());
  EXPECT_FALSE(Goal::Parse("budget=").ok());
  EXPECT_FALSE(Goal::Parse("deadline=3w").ok());
  EXPECT_FALSE(Goal::Parse("budget=-4").ok());
}

}  // namespace
}  // namespace opal::plan
