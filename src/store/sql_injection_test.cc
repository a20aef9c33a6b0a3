// Every SQL statement is parameterised: hostile workload keys, framework names and versions,
// target keys, configs, errors, job names, worker ids and cost-model metadata go through every
// method of the record store, the task queue and the cost-model registry on SQLite and
// PostgreSQL, while an observer sees the text of every statement run. None contains the hostile
// text (values travel as parameters only), and every value reads back verbatim.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "opal/cost_model_registry.h"
#include "opal/record_store.h"
#include "opal/task_queue.h"
#include "store/sql_session.h"
#include "store/store_test_util.h"

namespace opal::store::testing {
namespace {

// A marker no statement of opal contains, wrapped in SQL-breaking text.
const std::string kMark = "ZQXJ";
std::string Hostile(const std::string& what) {
  return kMark + what + "'); DROP TABLE records; -- \" \\ $1 ?1 ; DELETE FROM tasks; /* é€ */" + kMark;
}

class SqlInjection : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    auto dsn = FreshDsn(GetParam());
    ASSERT_TRUE(dsn.ok()) << dsn.status().message();
    dsn_ = *dsn;
    SetStatementObserver([this](const std::string& sql) {
      ++statements_;
      if (sql.find(kMark) != std::string::npos) spliced_.push_back(sql);
    });
  }
  void TearDown() override { SetStatementObserver(nullptr); }

  std::string dsn_;
  int statements_ = 0;
  std::vector<std::string> spliced_;
};

TEST_P(SqlInjection, HostileValuesAreAlwaysParameters) {
  auto store = RecordStore::Open(dsn_);
  ASSERT_TRUE(store.ok()) << store.status().message();
  Record r = MakeRecord({.target = Hostile("target"), .coarse = Hostile("coarse"), .framework = Hostile("fw"),
                         .version = Hostile("1") + ".2", .config = "{\"k\":\"" + Hostile("cfg") + "\"}"});
  r.workload_key = Hostile("workload");
  r.op = Hostile("op");
  r.error = Hostile("error");
  r.provenance.host = Hostile("host");
  r.Finalize(2e9);
  Record dup = r;
  dup.timestamp_us += 1;
  dup.Finalize(2e9);
  ASSERT_EQ(*(*store)->Put({r, dup}), 2);
  const RecordFilter filter{.workload_key = r.workload_key, .target_key = r.target_key, .op = r.op,
                            .framework = r.framework, .framework_version = r.framework_version};
  EXPECT_EQ(*(*store)->Count(filter), 2);
  std::vector<Record> seen;
  ASSERT_TRUE((*store)->Scan(filter, [&](const Record& x) {
    seen.push_back(x);
    return true;
  }).ok());
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].uid, r.uid) << "every field read back verbatim";
  for (int k : {1, 40}) {  // from the best-record summary (k <= 32) and from the records
    auto top = (*store)->TopK({.workload_key = r.workload_key, .target_key = Hostile("other"),
                               .target_coarse_key = r.target_coarse_key, .framework = r.framework,
                               .framework_version = r.framework_version, .k = k, .coarse_fallback = true});
    ASSERT_TRUE(top.ok()) << top.status().message();
    EXPECT_EQ(top->size(), k == 1 ? 1u : 2u);
  }
  EXPECT_EQ((*store)->MeasuredConfigs(r.workload_key, r.target_key, r.framework, r.framework_version)->size(), 1u);
  ASSERT_TRUE((*store)->Summarize().ok());
  EXPECT_EQ(*(*store)->MergeDuplicates(), 1);
  EXPECT_EQ(*(*store)->Prune(r.framework, r.framework_version, 5), 0);
  EXPECT_EQ(*(*store)->Delete({.framework = r.framework}), 1);

  auto queue = TaskQueue::Open(dsn_);
  ASSERT_TRUE(queue.ok()) << queue.status().message();
  JobSpec spec;
  spec.name = Hostile("job");
  spec.workloads = {{Hostile("w1"), Hostile("json1")}, {Hostile("w2"), Hostile("json2")}};
  spec.target_string = Hostile("target string");
  spec.target_key = Hostile("target");
  spec.framework = Hostile("fw");
  spec.framework_version = Hostile("1") + ".0";
  spec.settings = {{"note", Hostile("settings")}};
  auto job = (*queue)->Submit(spec);
  ASSERT_TRUE(job.ok()) << job.status().message();
  const WorkerCaps caps{Hostile("worker"), Hostile("host"), spec.target_key, spec.framework, spec.framework_version};
  EXPECT_EQ(*(*queue)->Unfinished(caps), 2);
  EXPECT_TRUE((*queue)->IncompatibleReasons({Hostile("w"), "h", spec.target_key, "other", "9"})->size() == 1);
  auto lease = (*queue)->Acquire(caps, 30);
  ASSERT_TRUE(lease.ok() && lease->has_value()) << lease.status().message();
  EXPECT_EQ((*lease)->task.workload_json, Hostile("json1"));
  ASSERT_TRUE((*queue)->Renew(**lease, 30).ok());
  Record trial = r;
  trial.timestamp_us += 7;
  trial.Finalize(2e9);
  ASSERT_TRUE((*queue)->AddTrials(**lease, {trial}).ok());
  ASSERT_TRUE((*queue)->Fail(**lease, Hostile("failure")).ok());
  auto again = (*queue)->Acquire(caps, 30);
  ASSERT_TRUE(again.ok() && again->has_value());
  ASSERT_TRUE((*queue)->Release(**again).ok());
  auto third = (*queue)->Acquire(caps, 30);
  ASSERT_TRUE(third.ok() && third->has_value());
  ASSERT_TRUE((*queue)->Complete(**third, {}).ok());
  ASSERT_TRUE((*queue)->Heartbeat({Hostile("worker"), Hostile("host"), Hostile("target"), "idle", 0, 1}).ok());
  auto jobs = (*queue)->Jobs();
  ASSERT_TRUE(jobs.ok());
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ((*jobs)[0].name, spec.name);
  auto tasks = (*queue)->Tasks(*job);
  ASSERT_TRUE(tasks.ok());
  EXPECT_EQ((*tasks)[0].last_error, Hostile("failure"));
  EXPECT_EQ((*(*queue)->Workers())[0].id, Hostile("worker"));

  auto registry = CostModelRegistry::Open(dsn_);
  ASSERT_TRUE(registry.ok());
  RegisteredCostModel m{.name = "m-1", .framework = Hostile("fw"), .feature_version = Hostile("fv"),
                        .meta = {{"k", Hostile("meta")}}, .body = Hostile("body")};
  ASSERT_TRUE((*registry)->Put(m, false).ok());
  auto got = (*registry)->Get("", Hostile("fw"));
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->body, Hostile("body"));
  EXPECT_TRUE(*(*registry)->Remove("m-1"));

  EXPECT_GT(statements_, 50) << "the observer saw the statements";
  EXPECT_TRUE(spliced_.empty()) << spliced_.size() << " statements carried a value in their text, e.g.: "
                                << (spliced_.empty() ? "" : spliced_[0]);
  EXPECT_EQ(*(*store)->Count({.framework = Hostile("fw")}), 1) << "only the trial added through the queue";
}

INSTANTIATE_TEST_SUITE_P(Backends, SqlInjection, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace opal::store::testing
