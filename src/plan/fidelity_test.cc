// Fidelity on Sailor's measured plans (../shared/data/sailor/validation/clariden, GH200 nodes of
// 4 GPUs): the simulator's MAPE against the measured iteration times, and the planner's choice
// against the best measured plan of each set. Skipped when the shared data is absent.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "opal/plan_search.h"
#include "opal/plan_sim.h"

namespace opal::plan {
namespace {

const std::string kData = OPAL_SHARED_DATA "/sailor";

struct Setup {
  Catalog catalog;
  Cluster cluster;  // every GH-96 a plan names
  ModelSpec model;
  ChainSource perf;
};

std::unique_ptr<Setup> Load(const std::string& config, const std::string& profiles) {
  auto s = std::make_unique<Setup>();
  s->catalog = *LoadCatalog(std::string(OPAL_SOURCE_DIR) + "/data/catalog/gpus.json");
  EXPECT_TRUE(
      ApplySailorNetwork(kData + "/providers/network_coeffs_all_homo.json", &s->catalog).ok());
  auto cl = ClusterFromJson(Json::parse(R"({"available": [{"gpu": "GH-96", "count": 1024}]})"),
                            &s->catalog, "test");
  EXPECT_TRUE(cl.ok());
  s->cluster = *cl;
  s->model = *ModelFromTransformer(*LoadTransformerConfig(kData + "/configs/" + config));
  auto prof = ProfileSource::Load(kData + "/profiles/" + profiles,
                                  static_cast<int>(s->model.layers.size()));
  if (prof.ok()) s->perf.Add(std::shared_ptr<const PerfSource>(std::move(*prof)));
  auto roof = RooflineSource::Load(std::string(OPAL_SOURCE_DIR) + "/data/catalog/efficiency.json");
  EXPECT_TRUE(roof.ok());
  s->perf.Add(std::shared_ptr<const PerfSource>(std::move(*roof)));
  return s;
}

TEST(Fidelity, ReplayOfMeasuredOpt350PlansFromProfiles) {
  if (!std::filesystem::exists(kData)) GTEST_SKIP() << "no shared data at " << kData;
  auto s = Load("training_config_opt_350.json", "OPT-350");
  PlanContext ctx{&s->model, &s->cluster, &s->perf, {}};
  auto rep = ReplaySailorDir(kData + "/validation/clariden/OPT-350", ctx);
  ASSERT_TRUE(rep.ok()) << rep.status().message();
  EXPECT_EQ(rep->replayed, 15);
  for (const auto& r : rep->rows) EXPECT_EQ(r.source, "profile") << r.path;
  fmt::print("OPT-350: {} plans, MAPE simulated {:.1f}%, estimated {:.1f}%\n", rep->replayed,
             100 * rep->mape_simulated, 100 * rep->mape_estimated);
  EXPECT_LT(rep->mape_simulated, 0.10);  // the goal of issue 8
}

TEST(Fidelity, ReplayOfMeasuredGptNeoPlansFromTheCalibratedRoofline) {
  // Sailor's GPT-Neo GH-96 profile is a copy of OPT-350's (26 layers): it is ignored and the
  // GH-96 roofline (calibrated on OPT-350) predicts these plans.
  if (!std::filesystem::exists(kData)) GTEST_SKIP() << "no shared data at " << kData;
  auto s = Load("training_config_gpt_neo27.json", "GPT-Neo-2.7");
  PlanContext ctx{&s->model, &s->cluster, &s->perf, {}};
  auto rep = ReplaySailorDir(kData + "/validation/clariden/GPT-NEO", ctx);
  ASSERT_TRUE(rep.ok()) << rep.status().message();
  EXPECT_EQ(rep->replayed, 11);  // N4_D4 is an OPT-350 plan (26 layers) filed under GPT-NEO
  fmt::print("GPT-Neo-2.7: {} plans, MAPE simulated {:.1f}%, estimated {:.1f}%\n", rep->replayed,
             100 * rep->mape_simulated, 100 * rep->mape_estimated);
  EXPECT_LT(rep->mape_simulated, 0.20);
}

TEST(Fidelity, PlannerDoesNotChooseWorseThanTheMeasuredBest) {
  if (!std::filesystem::exists(kData)) GTEST_SKIP() << "no shared data at " << kData;
  auto s = Load("training_config_opt_350.json", "OPT-350");
  // Group the measured plans by GPU count and global batch; the planner gets the same GPUs.
  std::map<std::pair<int, int64_t>, std::vector<SailorPlan>> groups;
  for (const auto& e :
       std::filesystem::recursive_directory_iterator(kData + "/validation/clariden/OPT-350")) {
    if (e.path().extension() != ".json") continue;
    auto sp = LoadSailorPlan(e.path().string(), s->cluster);
    ASSERT_TRUE(sp.ok()) << sp.status().message();
    groups[{sp->plan.Gpus(), static_cast<int64_t>(sp->plan.micro_batch) * sp->plan.num_micro}]
        .push_back(*sp);
  }
  for (auto& [key, plans] : groups) {
    ModelSpec model = s->model;
    model.global_batch = key.second;
    Cluster cl = s->cluster;
    cl.pools[0].count = key.first;
    PlanContext ctx{&model, &cl, &s->perf, {}};
    const SailorPlan* best = nullptr;
    for (auto& p : plans) {
      ASSERT_TRUE(EstimatePlan(ctx, &p.plan).ok());
      if (!best || p.measured < best->measured) best = &p;
    }
    SearchOptions o;
    o.time_limit_s = 10;
    auto r = SearchPlan(ctx, Goal{}, o);
    ASSERT_TRUE(r.ok() && r->found);
    fmt::print(
        "{:>4} GPUs, batch {:>5}: measured best {:.3f} s (estimated {:.3f} s); opal's plan "
        "estimated {:.3f} s, "
        "{} stages, tp {}, dp {}, micro-batch {}\n",
        key.first, key.second, best->measured, best->plan.iter_time, r->best.iter_time,
        r->best.stages.size(), r->best.stages[0].tp, r->best.stages[0].dp,
        r->best.micro_batch / r->best.stages[0].dp);
    EXPECT_LE(r->best.iter_time, best->plan.iter_time * (1 + 1e-9));
  }
}

}  // namespace
}  // namespace opal::plan
