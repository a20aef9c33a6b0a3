// A search strategy: which config of one workload to measure next. TuneWorkload
// (opal/tuning_search.h) owns the loop -- budgets, measurement, the store -- and asks the
// strategy for a candidate before every trial and tells it every result, as MetaSchedule's
// SearchStrategy is driven by its task scheduler. A new strategy is a class behind this interface
// and a name in MakeSearchStrategy (or a factory in SearchOptions::make_strategy for one caller).
//
// Built-in strategies:
//   random        uniform valid configs
//   evolutionary  a population of the best measured configs (seeded with the store's best
//                 records for the workload); each candidate is a mutation of a tournament winner,
//                 a crossover of two (then maybe mutated), or, with probability `explore`, a
//                 fresh random config
//   model-guided  wraps another strategy: draws `rank_pool` of its candidates per trial and
//                 proposes the one a cost model scores best (SearchOptions::rank)
// Every strategy proposes only configs that are not in the shared `measured` set (the store's
// trials of this workload, target and framework version, plus those of this run), so a search
// never pays twice for a trial.
//
// Thread safety: one strategy serves one search on one thread.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "opal/status.h"
#include "opal/tuning_space.h"
#include "opal/workload.h"

namespace opal {

// Scores candidates of one workload: higher is better (e.g. predicted GFLOP/s). Must return one
// score per config.
using RankFn = std::function<std::vector<double>(const Workload&, const std::vector<Config>&)>;

// What a strategy works with; every pointer outlives the strategy.
struct SearchContext {
  const ConfigSpace* space = nullptr;
  // Canonical JSON of every config already measured; the driver adds each new trial's config
  // before measuring it.
  const std::set<std::string>* measured = nullptr;
  std::mt19937_64* rng = nullptr;
  int population = 16;   // evolutionary: configs kept as parents
  double explore = 0.15;  // evolutionary: share of fresh random candidates
};

class SearchStrategy {
 public:
  virtual ~SearchStrategy() = default;
  virtual std::string Name() const = 0;
  // The next config to measure for `w`: valid in the space and not in `measured`; nullopt when
  // the strategy finds none (the space is exhausted for it).
  virtual std::optional<Config> Propose(const Workload& w) = 0;
  // A measured result: GFLOP/s of a config (0 when its trial failed). Called for the store's best
  // records before the first Propose and after every trial of the run.
  virtual void Observe(const Config& c, double gflops) = 0;
};

// "random" or "evolutionary"; kInvalidArgument naming the known strategies otherwise.
Result<std::unique_ptr<SearchStrategy>> MakeSearchStrategy(const std::string& name, const SearchContext& ctx);

// "model-guided": proposes, of `pool` candidates drawn from `base`, the one `rank` scores best
// (the first one when `rank` returns a wrong number of scores). Results go to `base` too.
std::unique_ptr<SearchStrategy> MakeModelGuidedStrategy(std::unique_ptr<SearchStrategy> base, RankFn rank, int pool);

// The names MakeSearchStrategy knows, for help texts and errors.
std::vector<std::string> SearchStrategyNames();

}  // namespace opal
