// The search strategies on a small space of their own (no kernels): they never propose a config
// already measured, run out when the space does, the evolutionary one breeds from what it was
// told was fast, and the model-guided one proposes the candidate its ranking scores best.
#include "opal/search_strategy.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace opal {
namespace {

// 8 x 8 = 64 configs, every one valid.
ConfigSpace Grid() {
  return ConfigSpace("grid", {{"a", {0, 1, 2, 3, 4, 5, 6, 7}, "a"}, {"b", {0, 1, 2, 3, 4, 5, 6, 7}, "b"}}, {});
}

Workload AnyWorkload() {
  return Workload::FromJson({{"op", "dense"}, {"dtype", "float32"}, {"m", 4}, {"n", 4}, {"k", 4},
                             {"trans_a", false}, {"trans_b", false}})
      .value();
}

struct Fixture {
  ConfigSpace space = Grid();
  std::set<std::string> measured;
  std::mt19937_64 rng{7};
  SearchContext Context() { return {&space, &measured, &rng, 4, 0.0}; }
};

TEST(SearchStrategy, RandomVisitsEveryConfigOnceThenStops) {
  Fixture f;
  auto s = MakeSearchStrategy("random", f.Context()).value();
  EXPECT_EQ(s->Name(), "random");
  for (int i = 0; i < 64; ++i) {
    auto c = s->Propose(AnyWorkload());
    ASSERT_TRUE(c.has_value()) << "after " << i << " configs";
    EXPECT_TRUE(f.space.Contains(*c));
    EXPECT_TRUE(f.measured.insert(c->CanonicalJson()).second) << "proposed twice: " << c->CanonicalJson();
  }
  // Random draws may miss the last few of 64 within its attempts; once all are measured it must stop.
  EXPECT_FALSE(s->Propose(AnyWorkload()).has_value());
}

TEST(SearchStrategy, EvolutionaryBreedsNearTheFastConfigs) {
  // A long knob: a in 0..31, b in {0, 1}. Told that a = 26 and a = 29 are fast and a = 0 slow,
  // with no exploration, its candidates are mutations and crossovers of the fast ones (a
  // mutation mostly steps to a neighbouring value): most of them stay at a >= 22, where uniform
  // candidates would land less than a third of the time.
  std::vector<int64_t> as;
  for (int64_t v = 0; v < 32; ++v) as.push_back(v);
  ConfigSpace space("line", {{"a", as, "a"}, {"b", {0, 1}, "b"}}, {});
  std::set<std::string> measured;
  std::mt19937_64 rng{7};
  auto s = MakeSearchStrategy("evolutionary", {&space, &measured, &rng, 4, 0.0}).value();
  for (int64_t a : {26, 29}) {
    Config c{"line", {{"a", a}, {"b", 0}}};
    measured.insert(c.CanonicalJson());
    s->Observe(c, 100.0 + static_cast<double>(a));
  }
  Config slow{"line", {{"a", 0}, {"b", 0}}};
  measured.insert(slow.CanonicalJson());
  s->Observe(slow, 1.0);
  int near = 0;
  // (Proposals are not marked measured here, so each is a fresh draw from the same population.)
  for (int i = 0; i < 40; ++i) {
    auto c = s->Propose(AnyWorkload());
    ASSERT_TRUE(c.has_value());
    EXPECT_FALSE(measured.count(c->CanonicalJson()));
    if (c->Get("a") >= 22) ++near;
  }
  EXPECT_GE(near, 24) << "the evolutionary strategy ignored what it observed";
}

TEST(SearchStrategy, ModelGuidedProposesTheBestScoredCandidate) {
  Fixture f;
  auto base = MakeSearchStrategy("random", f.Context()).value();
  // The model scores a + b: among 64 random candidates of an unmeasured 64-config space the
  // best-scored is (7, 7).
  int ranked = 0;
  RankFn rank = [&](const Workload&, const std::vector<Config>& cs) {
    ++ranked;
    std::vector<double> out;
    for (const Config& c : cs) out.push_back(static_cast<double>(c.Get("a") + c.Get("b")));
    return out;
  };
  auto s = MakeModelGuidedStrategy(std::move(base), rank, 64);
  EXPECT_EQ(s->Name(), "model-guided(random)");
  // The pool holds the distinct candidates drawn: the best of them has the highest score.
  auto c = s->Propose(AnyWorkload());
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(ranked, 1);
  EXPECT_GE(c->Get("a") + c->Get("b"), 12);
}

TEST(SearchStrategy, UnknownNameListsTheKnownOnes) {
  Fixture f;
  auto s = MakeSearchStrategy("annealing", f.Context());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(s.status().message().find("evolutionary"), std::string::npos) << s.status().message();
}

}  // namespace
}  // namespace opal
