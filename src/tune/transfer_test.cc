// Transfer: the distance between workloads, which stored configs a new workload's search starts
// from (nearest workload first, other ops, failed trials and the workload itself left out), and
// that the search measures them before anything it draws itself.
#include "opal/tuning_transfer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "opal/record_store.h"
#include "opal/tuning_search.h"

namespace opal {
namespace {

Workload Bmm(int batch, int m, int n, int k) {
  return Workload::FromJson({{"op", "batch_matmul"}, {"dtype", "float32"}, {"batch", batch},
                             {"m", m}, {"n", n}, {"k", k}, {"broadcast", "none"}})
      .value();
}

Workload Dense(int m, int n, int k) {
  return Workload::FromJson({{"op", "dense"}, {"dtype", "float32"}, {"m", m}, {"n", n}, {"k", k},
                             {"trans_a", false}, {"trans_b", true}})
      .value();
}

// A kOk record of `c` on `w` at `gflops` (times chosen to give that figure).
Record Stored(const TuningFramework& fw, const Workload& w, const Target& t, const Config& c,
              double gflops, TrialStatus status = TrialStatus::kOk) {
  TrialResult tr;
  tr.status = status;
  if (status == TrialStatus::kOk) tr.times_s = {w.Flops() / (gflops * 1e9)};
  else tr.error = "injected";
  return MakeTrialRecord(fw, w, t, c, tr);
}

// A valid config of w's space other than every one in `not_these`.
Config Draw(const ConfigSpace& s, std::mt19937_64& rng, const std::vector<Config>& not_these) {
  for (;;) {
    Config c = s.Sample(rng).value();
    if (std::find(not_these.begin(), not_these.end(), c) == not_these.end()) return c;
  }
}

// A short search without the template's seeds: `trials` trials, brief timing, a private lock.
SearchOptions QuickSearch(int trials) {
  SearchOptions o;
  o.max_trials = trials;
  o.seed = 3;
  o.try_default_first = false;
  o.measure.repeats = 2;
  o.measure.min_repeat_s = 0.0005;
  o.measure.lock_path = testing::TempDir() + "/opal-transfer-test.lock";
  return o;
}

TEST(Transfer, WorkloadDistanceGrowsWithTheSizesAndSeparatesOps) {
  const Workload a = Bmm(2, 64, 64, 64);
  EXPECT_EQ(WorkloadDistance(a, a), 0);
  EXPECT_NEAR(WorkloadDistance(a, Bmm(2, 64, 64, 127)), std::log(128.0 / 65.0), 1e-12);
  EXPECT_EQ(WorkloadDistance(a, Bmm(2, 64, 80, 64)), WorkloadDistance(Bmm(2, 64, 80, 64), a));
  EXPECT_LT(WorkloadDistance(a, Bmm(2, 64, 80, 64)), WorkloadDistance(a, Bmm(2, 64, 512, 64)));
  Workload b = Workload::FromJson({{"op", "batch_matmul"}, {"dtype", "float32"}, {"batch", 2},
                                   {"m", 64}, {"n", 64}, {"k", 64}, {"broadcast", "a"}})
                   .value();
  EXPECT_EQ(WorkloadDistance(a, b), 1);  // a text field that differs counts 1
  EXPECT_TRUE(std::isinf(WorkloadDistance(a, Dense(64, 64, 64))));
}

TEST(Transfer, TakesTheBestConfigOfTheNearestWorkloadsOfTheOp) {
  auto fw = MakeTuningFramework("halide").value();
  auto store = RecordStore::Open("memory:").value();
  const Target host = Target::DetectHost();
  const Workload w = Bmm(2, 64, 64, 64), near = Bmm(2, 64, 64, 80), far = Bmm(2, 64, 512, 512);
  const Workload only_failed = Bmm(2, 64, 64, 66);  // nearer than `near`, but nothing ran
  const Workload other_op = Dense(64, 64, 64);
  const ConfigSpace space = fw->Space(w, host).value();
  std::mt19937_64 rng(7);
  const Config near_best = Draw(fw->Space(near, host).value(), rng, {});
  const Config near_slow = Draw(fw->Space(near, host).value(), rng, {near_best});
  const Config near_failed = Draw(fw->Space(near, host).value(), rng, {near_best, near_slow});
  const Config far_best = Draw(fw->Space(far, host).value(), rng, {near_best});
  const Config own = Draw(space, rng, {near_best, far_best});
  ASSERT_TRUE(store
                  ->Put({Stored(*fw, near, host, near_slow, 50),
                         Stored(*fw, near, host, near_best, 90),
                         Stored(*fw, near, host, near_failed, 0, TrialStatus::kCrash),
                         Stored(*fw, far, host, far_best, 200),
                         Stored(*fw, w, host, own, 300),
                         Stored(*fw, only_failed, host, Draw(fw->Space(only_failed, host).value(),
                                                             rng, {near_best, far_best}),
                                0, TrialStatus::kTimeout)})
                  .ok());
  // A dense record must not be offered to a batch_matmul (its config may even fit the space).
  const Config dense_cfg = fw->Space(other_op, host).value().Sample(rng).value();
  ASSERT_TRUE(store->Put({Stored(*fw, other_op, host, dense_cfg, 500)}).ok());

  auto one = TransferConfigs(*fw, *store, w, host, 1);
  ASSERT_TRUE(one.ok()) << one.status().message();
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0], space.Project(near_best).value());

  auto all = TransferConfigs(*fw, *store, w, host, 8);
  ASSERT_TRUE(all.ok());
  std::vector<Config> want = {space.Project(near_best).value()};
  if (auto f = space.Project(far_best); f && *f != want[0]) want.push_back(*f);
  EXPECT_EQ(*all, want);  // near first; own records, failed trials and other ops left out

  auto none = TransferConfigs(*fw, *store, w, host, 0);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(Transfer, TheSearchMeasuresTransferredConfigsFirst) {
  auto fw = MakeTuningFramework("halide").value();
  auto store = RecordStore::Open("memory:").value();
  const Target host = Target::DetectHost();
  const Workload w = Bmm(2, 9, 12, 7), near = Bmm(2, 9, 12, 8);
  std::mt19937_64 rng(11);
  const Config donor = Draw(fw->Space(near, host).value(), rng, {});
  ASSERT_TRUE(store->Put({Stored(*fw, near, host, donor, 10)}).ok());
  const Config expect = fw->Space(w, host).value().Project(donor).value();

  SearchOptions o = QuickSearch(4);  // a quarter: one transferred config
  auto r = TuneWorkload(*fw, w, host, *store, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  std::vector<std::string> order;
  RecordFilter mine;
  mine.workload_key = w.Key();
  ASSERT_TRUE(store->Scan(mine, [&](const Record& rec) {
    order.push_back(rec.config_json);
    return true;
  }).ok());
  ASSERT_EQ(order.size(), 4u);
  EXPECT_EQ(order[0], expect.CanonicalJson());
  for (size_t i = 1; i < order.size(); ++i) EXPECT_NE(order[i], expect.CanonicalJson());
}

// A record as an older major version of the framework stored it.
Record StoredByVersion(const TuningFramework& fw, const Workload& w, const Target& t, const Config& c,
                       double gflops, const std::string& version) {
  Record r = Stored(fw, w, t, c, gflops);
  r.framework_version = version;
  r.Finalize(w.Flops());
  return r;
}

TEST(Transfer, OlderVersionsOwnConfigsAreMeasuredAgainFirstFastestFirst) {
  auto fw = MakeTuningFramework("halide").value();
  auto store = RecordStore::Open("memory:").value();
  const Target host = Target::DetectHost();
  const Workload w = Bmm(2, 9, 12, 7), other = Bmm(2, 9, 12, 8);
  const ConfigSpace space = fw->Space(w, host).value();
  std::mt19937_64 rng(5);
  const Config fast = Draw(space, rng, {}), slow = Draw(space, rng, {fast}), current = Draw(space, rng, {fast, slow});
  const Config elsewhere = Draw(fw->Space(other, host).value(), rng, {});
  auto put = store->Put({StoredByVersion(*fw, w, host, slow, 5, "1"),
                         StoredByVersion(*fw, w, host, fast, 20, "2.1"),
                         Stored(*fw, w, host, current, 50),  // the current version: not re-measured
                         StoredByVersion(*fw, other, host, elsewhere, 90, "1")});  // not w's
  ASSERT_TRUE(put.ok()) << put.status().message();
  auto old = OlderVersionConfigs(*fw, *store, w, host, 8);
  ASSERT_TRUE(old.ok()) << old.status().message();
  ASSERT_EQ(old->size(), 2u);
  EXPECT_EQ((*old)[0], fast);
  EXPECT_EQ((*old)[1], slow);
  EXPECT_EQ(OlderVersionConfigs(*fw, *store, w, host, 1)->size(), 1u);

  // The search measures them before anything else (after the seeds, off here).
  SearchOptions o = QuickSearch(3);
  o.transfer = 0;
  auto r = TuneWorkload(*fw, w, host, *store, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  std::vector<std::string> measured;
  RecordFilter mine;
  mine.workload_key = w.Key();
  mine.framework_version = fw->Version();
  ASSERT_TRUE(store->Scan(mine, [&](const Record& rec) {
    measured.push_back(rec.config_json);
    return true;
  }).ok());
  ASSERT_EQ(measured.size(), 4u);  // the stored current one, then three trials
  EXPECT_EQ(measured[1], fast.CanonicalJson());
  EXPECT_EQ(measured[2], slow.CanonicalJson());
}

}  // namespace
}  // namespace opal
