#include "opal/cost_model.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <random>

#include "opal/cost_model_training.h"
#include "opal/zero_shot.h"
#include "opal/cost_model_registry.h"
#include "opal/record_store.h"
#include "opal/tuning_framework.h"

namespace opal::costmodel {
namespace {

// Synthetic trials: GFLOP/s is a smooth function of the features with a per-workload scale.
std::vector<TrainingRow> Synthetic(int workloads, int per, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<TrainingRow> rows;
  for (int w = 0; w < workloads; ++w) {
    const double scale = 10 + 50 * u(rng);
    for (int i = 0; i < per; ++i) {
      TrainingRow r;
      r.group = "dense-w" + std::to_string(w) + "@cpu";
      double a = u(rng), b = u(rng), c = u(rng);
      r.features = {a, b, c, scale};
      r.gflops = scale * (1 + 3 * a - 2 * (b - 0.5) * (b - 0.5)) * (c > 0.1 ? 1 : 0);
      rows.push_back(r);
    }
  }
  NormalizeLabels(rows);
  return rows;
}

CostModelInfo Info() {
  CostModelInfo info;
  info.framework = "synthetic";
  info.framework_version = "1";
  info.feature_names = {"a", "b", "c", "scale"};
  info.feature_version = FeatureVersion("synthetic", "1", info.feature_names);
  return info;
}

std::vector<std::vector<double>> Features(const std::vector<TrainingRow>& rows) {
  std::vector<std::vector<double>> f;
  for (const auto& r : rows) f.push_back(r.features);
  return f;
}

TEST(Ranking, PerfectAndReversedScores) {
  std::vector<TrainingRow> rows = Synthetic(2, 10, 3);
  std::vector<double> perfect, reversed;
  for (const auto& r : rows) {
    perfect.push_back(r.gflops);
    reversed.push_back(-r.gflops);
  }
  RankingScores p = ScoreRanking(rows, perfect);
  EXPECT_DOUBLE_EQ(p.pairwise_accuracy, 1.0);
  EXPECT_DOUBLE_EQ(p.top1, 1.0);
  EXPECT_EQ(p.groups, 2);
  RankingScores r = ScoreRanking(rows, reversed);
  EXPECT_DOUBLE_EQ(r.pairwise_accuracy, 0.0);
  EXPECT_LT(r.top1, 0.7);
  EXPECT_LE(r.top1, r.top5);
}

TEST(CostModel, LearnsToRankUnseenWorkloads) {
  auto train = Synthetic(8, 40, 1);
  auto m = CostModel::Train(train, Info(), {.folds = 3, .search = true, .seed = 1});
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_FALSE(m->info().objective.empty());
  EXPECT_EQ(m->info().validation["candidates"].size(), 8u);
  auto held_out = Synthetic(3, 40, 99);
  auto scores = m->Predict(Features(held_out), Info().feature_version);
  ASSERT_TRUE(scores.ok()) << scores.status().message();
  RankingScores s = ScoreRanking(held_out, *scores);
  EXPECT_GT(s.pairwise_accuracy, 0.8);
  EXPECT_GT(s.top5, 0.9);
}

TEST(CostModel, SaveLoadRoundTripPredictsTheSame) {
  auto m = CostModel::Train(Synthetic(4, 30, 2), Info(), {.search = false, .rounds = 30});
  ASSERT_TRUE(m.ok()) << m.status().message();
  const std::string path = testing::TempDir() + "/model_" + std::to_string(getpid()) + ".json";
  ASSERT_TRUE(m->Save(path).ok());
  auto back = CostModel::Load(path);
  ASSERT_TRUE(back.ok()) << back.status().message();
  auto rows = Synthetic(2, 20, 7);
  auto a = m->Predict(Features(rows), Info().feature_version);
  auto b = back->Predict(Features(rows), Info().feature_version);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(back->info().feature_names, Info().feature_names);
  EXPECT_EQ(back->info().rows, 120);
  std::remove(path.c_str());
  EXPECT_FALSE(CostModel::Load(path).ok());
}

TEST(CostModel, RegisteredInTheStoreLoadsByNameAndPredictsTheSame) {
  auto m = CostModel::Train(Synthetic(4, 30, 2), Info(), {.search = false, .rounds = 30});
  ASSERT_TRUE(m.ok()) << m.status().message();
  const std::string db = testing::TempDir() + "/registry_" + std::to_string(getpid()) + ".db";
  std::remove(db.c_str());
  const std::string dsn = "sqlite:" + db;
  auto registry = CostModelRegistry::Open(dsn);
  ASSERT_TRUE(registry.ok()) << registry.status().message();
  RegisteredCostModel r;
  r.name = "syn";
  r.framework = "synthetic";
  r.feature_version = Info().feature_version;
  r.body = *m->ToText();
  ASSERT_TRUE((*registry)->Put(r, false).ok());
  auto rows = Synthetic(2, 20, 7);
  auto a = m->Predict(Features(rows), Info().feature_version);
  for (const std::string spec : {"@syn", "@"}) {
    auto back = LoadCostModel(spec, dsn, "synthetic");
    ASSERT_TRUE(back.ok()) << spec << ": " << back.status().message();
    EXPECT_EQ(*back->Predict(Features(rows), Info().feature_version), *a) << spec;
  }
  auto missing = LoadCostModel("@absent", dsn, "synthetic");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
  EXPECT_NE(missing.status().message().find("absent"), std::string::npos);
  EXPECT_EQ(LoadCostModel("@", dsn, "other-framework").status().code(), ErrorCode::kNotFound);
  std::remove(db.c_str());
}

TEST(CostModel, RefusesFeaturesOfAnotherVersion) {
  auto m = CostModel::Train(Synthetic(4, 30, 2), Info(), {.search = false, .rounds = 10});
  ASSERT_TRUE(m.ok());
  auto other = FeatureVersion("synthetic", "2", Info().feature_names);
  auto s = m->Predict({{0.1, 0.2, 0.3, 4}}, other);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(s.status().message().find("retrain"), std::string::npos);
  EXPECT_FALSE(m->Predict({{0.1, 0.2}}, Info().feature_version).ok()) << "wrong row length";
}

TEST(CostModel, TooLittleDataIsAClearError) {
  auto m = CostModel::Train(Synthetic(1, 50, 2), Info());
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("tune more"), std::string::npos);
}

Workload SmallDense() {
  return *Workload::FromJson(Json::parse(
      R"({"op":"dense","dtype":"float32","m":16,"n":24,"k":32,"trans_a":false,"trans_b":false})"));
}

TEST(Features, AreDeterministic) {
  auto fw1 = MakeTuningFramework("halide");
  auto fw2 = MakeTuningFramework("halide");
  ASSERT_TRUE(fw1.ok() && fw2.ok());
  const Target t = Target::DetectHost();
  auto space = (*fw1)->Space(SmallDense(), t);
  ASSERT_TRUE(space.ok()) << space.status().message();
  std::mt19937_64 rng(5);
  for (int i = 0; i < 20; ++i) {
    auto c = space->Sample(rng);
    ASSERT_TRUE(c.has_value());
    auto a = (*fw1)->Features(SmallDense(), *c, t);
    EXPECT_EQ(a, (*fw1)->Features(SmallDense(), *c, t));
    EXPECT_EQ(a, (*fw2)->Features(SmallDense(), *c, t));
    EXPECT_EQ(a.size(), (*fw1)->FeatureNames().size());
  }
  EXPECT_EQ(FeatureVersionOf(**fw1), FeatureVersionOf(**fw2));
}

// The real path: a model over the framework's features ranks 300 sampled configs; only the top 2
// are built and measured, and both land in the store.
TEST(ZeroShot, MeasuresOnlyTheTopK) {
  auto fw = MakeTuningFramework("halide");
  ASSERT_TRUE(fw.ok());
  const Target t = Target::DetectHost();
  std::vector<TrainingRow> rows;
  std::mt19937_64 rng(11);
  for (int w = 0; w < 3; ++w) {
    Workload wl = *Workload::FromJson(Json::parse(
        "{\"op\":\"dense\",\"dtype\":\"float32\",\"m\":" + std::to_string(32 << w) +
        ",\"n\":64,\"k\":48,\"trans_a\":false,\"trans_b\":true}"));
    auto space = (*fw)->Space(wl, t);
    ASSERT_TRUE(space.ok());
    for (int i = 0; i < 15; ++i) {
      auto c = space->Sample(rng);
      ASSERT_TRUE(c.has_value());
      TrainingRow r;
      r.group = wl.Key() + "@" + t.ExactKey();
      r.features = (*fw)->Features(wl, *c, t);
      r.gflops = 1 + static_cast<double>(rng() % 100);
      rows.push_back(r);
    }
  }
  NormalizeLabels(rows);
  CostModelInfo info;
  info.framework = (*fw)->Name();
  info.framework_version = (*fw)->Version();
  info.feature_names = (*fw)->FeatureNames();
  info.feature_version = FeatureVersionOf(**fw);
  auto model = CostModel::Train(rows, info, {.search = false, .rounds = 20});
  ASSERT_TRUE(model.ok()) << model.status().message();
  auto store = RecordStore::Open("memory:");
  ASSERT_TRUE(store.ok());
  ZeroShotOptions o;
  o.samples = 300;
  o.measure = 2;
  o.seed = 3;
  o.measure_options.repeats = 3;
  o.measure_options.min_repeat_s = 0.002;
  auto r = ZeroShotTune(**fw, SmallDense(), t, **store, &*model, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_GT(r->sampled, 2);
  EXPECT_EQ(r->measured, 2);
  EXPECT_EQ(*(*store)->Count({}), 2);
  EXPECT_TRUE(r->best.has_value());
  EXPECT_FALSE(r->best_from.empty());
  // Both were measured side by side: each record holds one time per round, and the best is one.
  EXPECT_EQ(r->side_by_side, 2);
  EXPECT_EQ(r->best->times_s.size(), static_cast<size_t>(o.rounds));
  bool best_stored = false;
  ASSERT_TRUE((*store)
                  ->Scan({},
                         [&](const Record& rec) {
                           best_stored = best_stored || rec.uid == r->best->uid;
                           return true;
                         })
                  .ok());
  EXPECT_TRUE(best_stored);
  // The template's default config is always among the measured (the safe choice).
  bool default_measured = false;
  const std::string def = (*fw)->SeedConfigs(SmallDense(), t)[0].CanonicalJson();
  ASSERT_TRUE((*store)->Scan({}, [&](const Record& rec) {
    default_measured = default_measured || rec.config_json == def;
    return true;
  }).ok());
  EXPECT_TRUE(default_measured);
  // Without a model nothing is sampled: the default (already measured) and the other seeds.
  o.measure = 1;
  auto r2 = ZeroShotTune(**fw, SmallDense(), t, **store, nullptr, o);
  ASSERT_TRUE(r2.ok()) << r2.status().message();
  EXPECT_LE(r2->sampled, static_cast<int>((*fw)->SeedConfigs(SmallDense(), t).size()));
}

}  // namespace
}  // namespace opal::costmodel
