// Search over a framework's schedule space for one workload, and budget splitting over the tasks
// of a model.
//
// TuneWorkload measures first the template's seed configs and the best configs of the nearest
// other workloads in the store (opal/tuning_transfer.h), then asks a search strategy
// (opal/search_strategy.h: random, evolutionary, model-guided with a cost model) for every next
// candidate. Configs already in the store for this workload and target (RecordStore::
// MeasuredConfigs) are never measured again, so tuning resumes where it stopped.
// Every trial, failed ones included, is written to the store as one Record before the next
// starts. Budgets: trials, wall time, and an early stop after N trials without a new best.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "opal/record.h"
#include "opal/record_store.h"
#include "opal/search_strategy.h"
#include "opal/status.h"
#include "opal/tasks.h"
#include "opal/tuning_framework.h"

namespace opal {

struct TuneProgress {
  int trial = 0;  // trials finished in this run
  int max_trials = 0;
  int failed = 0;          // of them, not kOk
  double best_gflops = 0;  // best kOk so far (store records included)
  double last_gflops = 0;  // of the last trial (0 when it failed)
  TrialStatus last_status = TrialStatus::kOk;
  std::string last_error;
  double elapsed_s = 0;
};

struct SearchOptions {
  std::string strategy = "evolutionary";  // a name of MakeSearchStrategy (opal/search_strategy.h)
  // When set, makes the strategy instead of `strategy` (a strategy of the caller's own).
  std::function<Result<std::unique_ptr<SearchStrategy>>(const SearchContext&)> make_strategy;
  int max_trials = 200;                   // trials measured in this run (failed ones count)
  double time_budget_s = 0;               // wall-clock limit of this run; 0 = none
  int early_stop = 0;             // stop after this many trials without a new best; 0 = never
  int population = 16;            // evolutionary: configs kept as parents
  double explore = 0.15;          // evolutionary: share of fresh random candidates
  uint64_t seed = 0;              // 0 = random
  // First of all, measure up to this many of the workload's best configs on other machines of
  // this target's coarse kind (records that travel: another AVX-512 server's tuning), at most a
  // quarter of max_trials (at least one); they start the search from what a machine of the same
  // kind learnt, and their times there are never taken for this machine's. 0 = off.
  int coarse = 4;
  bool try_default_first = true;  // measure the template's known-good config first
  // Then measure the best configs of up to this many of the nearest other workloads of the op in
  // the store (TransferConfigs), at most a quarter of max_trials; 0 = off.
  int transfer = 8;
  // Then re-measure up to this many of the workload's own best configs from records of an older
  // major version of the framework (OlderVersionConfigs): what was learnt before a change of the
  // measurement or the space is checked again, not thrown away; 0 = off.
  int revalidate = 8;
  RankFn rank;                    // optional cost model: the strategy becomes model-guided
  int rank_pool = 64;             // candidates scored per trial when `rank` is set
  MeasureOptions measure;
  std::string worker_id;                              // stored in Provenance::worker_id
  std::function<void(const TuneProgress&)> on_trial;  // called after every trial
};

struct TuneResult {
  int trials = 0;
  int failed = 0;
  double elapsed_s = 0;
  std::optional<Record> best;  // best kOk record for the workload on the target (store included)
  std::string stop_reason;     // "trials", "time", "early stop", "space exhausted"
};

// A stored trial whose config is a point of the framework's current space.
struct StoredConfig {
  Record record;
  Config config;
};

// The up to k best valid records of `w` on the exact target `t` for `fw` (any version with the same
// major component), fastest first, keeping only those whose config parses in fw.Space(w, t):
// a config from another revision of the space is data, never executed. With `coarse`, records of
// other targets with t's coarse key (the same ISA family: another machine of the same kind) fill
// up to k after the exact target's; their record.target_key says where they were measured.
Result<std::vector<StoredConfig>> BestStoredConfigs(const TuningFramework& fw, RecordStore& store,
                                                    const Workload& w, const Target& t, int k,
                                                    bool coarse = false);

// Up to k positions of `ranked` (fastest first) to measure when its ranking is another machine's:
// the fastest config of each form (TuningFramework::FormOf) in rank order, then, when fewer than
// k forms are there, the fastest of the rest. A machine's top records are often near copies of one
// form, which another machine may rank quite differently. Ascending positions; 0 first when any.
std::vector<size_t> OneOfEachForm(const TuningFramework& fw, const std::vector<StoredConfig>& ranked, int k);

// Re-times `configs` of `w` side by side on target `t` (this host) with
// TuningFramework::MeasureSideBySide: `rounds` rounds, each timing every config once (fixed
// inputs), the order rotating each round so that clock drift hits all alike. Returns per config
// its seconds per call in each of its rounds (empty when it failed, with why in `errors`, when
// given). A search's own best trial is biased by drift and by the number of trials; this is the
// fair comparison.
std::vector<std::vector<double>> RetimeSideBySide(TuningFramework& fw, const Workload& w, const Target& t,
                                                  const std::vector<Config>& configs, int rounds,
                                                  std::vector<std::string>* errors = nullptr);

// The fastest of configs re-timed side by side (`times` as RetimeSideBySide returns them: per
// config its time in each round; a shorter list holds the first rounds): the config whose time
// over the round's fastest has the lowest median over the rounds all of them ran in -- a paired
// comparison, which a machine whose speed jumps between rounds does not sway. n (= times.size())
// when no config has times. `relative`, when given, gets the winner's median ratio (1 when it
// was the fastest of every round).
size_t FastestSideBySide(const std::vector<std::vector<double>>& times, double* relative = nullptr);

// Median of `v` (0 when empty).
double MedianOf(std::vector<double> v);

// Tunes `w` on `t` (the host). Errors: kUnsupported (no space for w), kInvalidArgument (bad
// strategy), the store's errors. `store` must outlive the call.
Result<TuneResult> TuneWorkload(TuningFramework& fw, const Workload& w, const Target& t,
                                RecordStore& store, const SearchOptions& options);

// Per-task budget for a model: tasks[i] gets max(min_trials, round(total_trials * share_i))
// trials and total_time_s * share_i seconds (0 when total_time_s is 0).
struct TaskBudget {
  int trials = 0;
  double time_s = 0;
};
std::vector<TaskBudget> SplitBudget(const TaskList& tasks, int total_trials, double total_time_s,
                                    int min_trials);

}  // namespace opal
