// Search: every trial (failed ones too) becomes a record in the store, broken candidates do not
// stop tuning, configs already in the store are never measured again, budgets are honoured.
#include <gtest/gtest.h>

#include <set>

#include "opal/record_store.h"
#include "opal/tuning_search.h"

namespace opal {
namespace {

Workload Tiny() {
  return Workload::FromJson({{"op", "batch_matmul"},
                             {"dtype", "float32"},
                             {"batch", 2},
                             {"m", 9},
                             {"n", 12},
                             {"k", 7},
                             {"broadcast", "none"}})
      .value();
}

SearchOptions Quick(int trials) {
  SearchOptions o;
  o.max_trials = trials;
  o.seed = 42;
  o.measure.repeats = 2;
  o.measure.min_repeat_s = 0.0005;
  o.measure.run_timeout_s = 3;
  o.measure.lock_path = testing::TempDir() + "/opal-search-test.lock";
  return o;
}

TEST(Search, BrokenCandidatesAreRecordedAndTuningContinues) {
  auto fw = MakeTuningFramework("halide").value();
  auto store = RecordStore::Open("memory:").value();
  Target host = Target::DetectHost();
  Workload w = Tiny();
  SearchOptions o = Quick(6);
  // Trials 2, 3 and 4 crash, hang and compute a wrong result.
  int call = 0;
  o.measure.inject_fault = [&call](const Config&) {
    ++call;
    return call == 2   ? InjectedFault::kCrash
           : call == 3 ? InjectedFault::kHang
           : call == 4 ? InjectedFault::kWrongResult
                       : InjectedFault::kNone;
  };
  int progress_calls = 0;
  o.on_trial = [&](const TuneProgress& p) { progress_calls = p.trial; };
  auto r = TuneWorkload(*fw, w, host, *store, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->trials, 6);
  EXPECT_EQ(r->failed, 3);
  EXPECT_EQ(progress_calls, 6);
  ASSERT_TRUE(r->best.has_value());
  EXPECT_EQ(r->best->status, TrialStatus::kOk);

  std::multiset<TrialStatus> statuses;
  std::set<std::string> configs;
  ASSERT_TRUE(store
                  ->Scan({},
                         [&](const Record& rec) {
                           statuses.insert(rec.status);
                           configs.insert(rec.config_json);
                           EXPECT_EQ(rec.workload_key, w.Key());
                           return true;
                         })
                  .ok());
  EXPECT_EQ(statuses.size(), 6u);
  EXPECT_EQ(configs.size(), 6u);  // no config measured twice
  EXPECT_EQ(statuses.count(TrialStatus::kCrash), 1u);
  EXPECT_EQ(statuses.count(TrialStatus::kTimeout), 1u);
  EXPECT_EQ(statuses.count(TrialStatus::kMismatch), 1u);
  EXPECT_EQ(statuses.count(TrialStatus::kOk), 3u);

  // A second run skips everything already in the store, and finds the stored best.
  SearchOptions again = Quick(3);
  again.strategy = "random";
  again.seed = 7;
  auto r2 = TuneWorkload(*fw, w, host, *store, again);
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->trials, 3);
  std::set<std::string> all;
  int n = 0;
  ASSERT_TRUE(store
                  ->Scan({},
                         [&](const Record& rec) {
                           all.insert(rec.config_json);
                           ++n;
                           return true;
                         })
                  .ok());
  EXPECT_EQ(n, 9);
  EXPECT_EQ(all.size(), 9u);
  EXPECT_GE(r2->best->gflops, r->best->gflops);
}

TEST(Search, RankHookChoosesTheMeasuredCandidate) {
  auto fw = MakeTuningFramework("halide").value();
  auto store = RecordStore::Open("memory:").value();
  Target host = Target::DetectHost();
  Workload w = Tiny();
  SearchOptions o = Quick(2);
  o.try_default_first = false;
  // The "cost model" prefers the smallest register tile: every measured config must be a
  // minimum of rx*ry among the candidates it was shown.
  std::vector<int64_t> chosen_min;
  o.rank = [&](const Workload&, const std::vector<Config>& cands) {
    std::vector<double> s;
    int64_t best = 1 << 30;
    for (const Config& c : cands) {
      s.push_back(-double(c.Get("rx") * c.Get("ry")));
      best = std::min(best, c.Get("rx") * c.Get("ry"));
    }
    chosen_min.push_back(best);
    return s;
  };
  auto r = TuneWorkload(*fw, w, host, *store, o);
  ASSERT_TRUE(r.ok());
  std::vector<int64_t> measured;
  ASSERT_TRUE(store
                  ->Scan({},
                         [&](const Record& rec) {
                           Config c = Config::FromJson(rec.config_json).value();
                           measured.push_back(c.Get("rx") * c.Get("ry"));
                           return true;
                         })
                  .ok());
  EXPECT_EQ(measured, chosen_min);
}

// The configs measured on target t, in the order they were stored.
std::vector<Config> ConfigsMeasuredOn(RecordStore& store, const Target& t) {
  std::vector<Config> out;
  EXPECT_TRUE(store
                  .Scan({},
                        [&](const Record& rec) {
                          if (rec.target_key == t.ExactKey()) out.push_back(Config::FromJson(rec.config_json).value());
                          return true;
                        })
                  .ok());
  return out;
}

// Records travel: on a machine with no record of its own, the search first measures the best
// configs another machine of the same kind found, fastest first, and keeps only its own times.
TEST(Search, ConfigsOfAMachineOfTheSameKindAreMeasuredFirst) {
  auto fw = MakeTuningFramework("halide").value();
  auto store = RecordStore::Open("memory:").value();
  const Target host = Target::DetectHost();
  Target other = host;
  other.model += " (a sibling)";
  other.l3_bytes *= 2;
  ASSERT_NE(other.ExactKey(), host.ExactKey());
  ASSERT_EQ(other.CoarseKey(), host.CoarseKey());
  const Workload w = Tiny();
  SearchOptions first = Quick(5);
  first.strategy = "random";
  first.try_default_first = false;
  ASSERT_TRUE(TuneWorkload(*fw, w, other, *store, first).ok());
  auto theirs = BestStoredConfigs(*fw, *store, w, other, 2);
  ASSERT_TRUE(theirs.ok());
  ASSERT_EQ(theirs->size(), 2u);

  SearchOptions o = Quick(8);  // a quarter of the trials: 2 travelled configs
  o.strategy = "random";
  o.seed = 3;
  auto r = TuneWorkload(*fw, w, host, *store, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->trials, 8);
  ASSERT_TRUE(r->best.has_value());
  EXPECT_EQ(r->best->target_key, host.ExactKey());
  const std::vector<Config> ours = ConfigsMeasuredOn(*store, host);
  ASSERT_EQ(ours.size(), 8u);
  // The sibling's best of each form, in its rank order (OneOfEachForm over its records).
  auto pool = BestStoredConfigs(*fw, *store, w, other, 20);
  ASSERT_TRUE(pool.ok());
  std::vector<StoredConfig> sibling;
  for (StoredConfig& sc : *pool)
    if (sc.record.target_key == other.ExactKey()) sibling.push_back(std::move(sc));
  const std::vector<size_t> first_two = OneOfEachForm(*fw, sibling, 2);
  ASSERT_EQ(first_two.size(), 2u);
  EXPECT_EQ(first_two[0], 0u);
  for (size_t i = 0; i < 2; ++i) EXPECT_EQ(ours[i], sibling[first_two[i]].config) << "trial " << i;

  // Off: the first trial is the template's seed, not a travelled config.
  auto store2 = RecordStore::Open("memory:").value();
  ASSERT_TRUE(TuneWorkload(*fw, w, other, *store2, first).ok());
  o.coarse = 0;
  o.max_trials = 1;
  ASSERT_TRUE(TuneWorkload(*fw, w, host, *store2, o).ok());
  const std::vector<Config> mine = ConfigsMeasuredOn(*store2, host);
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(mine[0], fw->SeedConfigs(w, host).at(0));
}

// Another machine's ranking: its best config of each form first, then its next best, in rank order.
TEST(Search, OneOfEachFormTakesEachFormsBestFirst) {
  auto fw = MakeTuningFramework("halide").value();
  const Target host = Target::DetectHost();
  const Workload w = Tiny();
  const Config base = fw->SeedConfigs(w, host).at(0);
  auto with = [&](int pack_a, int ry) {
    Config c = base;
    c.knobs["pack_a"] = pack_a;
    c.knobs["ry"] = ry;
    return StoredConfig{Record{}, c};
  };
  // Forms by rank: A A B A C (pack_a 0, 0, 1, 0, 2); tile sizes do not make a form.
  const std::vector<StoredConfig> ranked = {with(0, 1), with(0, 2), with(1, 1), with(0, 3), with(2, 1)};
  EXPECT_NE(fw->FormOf(ranked[0].config), fw->FormOf(ranked[2].config));
  EXPECT_EQ(fw->FormOf(ranked[0].config), fw->FormOf(ranked[1].config));
  EXPECT_EQ(OneOfEachForm(*fw, ranked, 1), (std::vector<size_t>{0}));
  EXPECT_EQ(OneOfEachForm(*fw, ranked, 2), (std::vector<size_t>{0, 2}));
  EXPECT_EQ(OneOfEachForm(*fw, ranked, 3), (std::vector<size_t>{0, 2, 4}));
  EXPECT_EQ(OneOfEachForm(*fw, ranked, 4), (std::vector<size_t>{0, 1, 2, 4}));  // then the best of the rest
  EXPECT_EQ(OneOfEachForm(*fw, ranked, 9), (std::vector<size_t>{0, 1, 2, 3, 4}));
  EXPECT_TRUE(OneOfEachForm(*fw, {}, 3).empty());
  EXPECT_TRUE(OneOfEachForm(*fw, ranked, 0).empty());
}

// The paired choice: per round, each config's time over the round's fastest; the lowest median
// wins. Here B's median time is lower (1.9 vs 2.0), but A was the fastest in two of three rounds
// (round medians of the ratios: A 1.0, B 1.05), so A wins; a config without times never does.
TEST(Search, FastestSideBySideComparesWithinRounds) {
  double rel = 0;
  EXPECT_EQ(FastestSideBySide({{1.0, 2.0, 2.0}, {1.9, 1.05, 2.1}, {}}, &rel), 0u);
  EXPECT_DOUBLE_EQ(rel, 1.0);
  // Ratios B (1.5, 1.0), C (1.0, 1.333): medians 1.25 and 1.167.
  EXPECT_EQ(FastestSideBySide({{}, {3.0, 3.0}, {2.0, 4.0}}, &rel), 2u);
  EXPECT_NEAR(rel, (1.0 + 4.0 / 3.0) / 2, 1e-12);
  EXPECT_EQ(FastestSideBySide({{}, {}}), 2u);
  EXPECT_EQ(FastestSideBySide({{5.0}}), 0u);
  // Only the rounds all of them ran in count: C's third round (10x faster) is not compared.
  EXPECT_EQ(FastestSideBySide({{1.0, 1.0}, {1.2, 1.2, 0.1}}), 0u);
}

TEST(Search, SplitBudgetFollowsShares) {
  TaskList tl;
  for (double share : {0.7, 0.25, 0.05}) {
    Task t{Workload::FromJson({{"op", "dense"},
                               {"dtype", "float32"},
                               {"m", 2},
                               {"n", 2},
                               {"k", 2},
                               {"trans_a", false},
                               {"trans_b", false}})
               .value()};
    t.share = share;
    tl.tasks.push_back(t);
  }
  auto b = SplitBudget(tl, 100, 60, 8);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0].trials, 70);
  EXPECT_EQ(b[1].trials, 25);
  EXPECT_EQ(b[2].trials, 8);
  EXPECT_DOUBLE_EQ(b[0].time_s, 42);
}

TEST(Search, UnknownStrategyIsAnError) {
  auto fw = MakeTuningFramework("halide").value();
  auto store = RecordStore::Open("memory:").value();
  SearchOptions o = Quick(1);
  o.strategy = "annealing";
  auto r = TuneWorkload(*fw, Tiny(), Target::DetectHost(), *store, o);
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace opal
