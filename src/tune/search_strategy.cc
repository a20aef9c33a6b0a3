// The built-in search strategies of opal/search_strategy.h.
#include "opal/search_strategy.h"

#include <algorithm>
#include <fmt/format.h>

namespace opal {
namespace {

// Draws up to 500 candidates from `draw` and returns the first one not measured yet.
template <typename Draw>
std::optional<Config> FirstUnmeasured(const SearchContext& ctx, Draw draw) {
  for (int attempt = 0; attempt < 500; ++attempt) {
    std::optional<Config> c = draw();
    if (c && !ctx.measured->count(c->CanonicalJson())) return c;
  }
  return std::nullopt;
}

class RandomStrategy final : public SearchStrategy {
 public:
  explicit RandomStrategy(const SearchContext& ctx) : ctx_(ctx) {}
  std::string Name() const override { return "random"; }
  std::optional<Config> Propose(const Workload&) override {
    return FirstUnmeasured(ctx_, [&] { return ctx_.space->Sample(*ctx_.rng); });
  }
  void Observe(const Config&, double) override {}

 private:
  SearchContext ctx_;
};

class EvolutionaryStrategy final : public SearchStrategy {
 public:
  explicit EvolutionaryStrategy(const SearchContext& ctx) : ctx_(ctx) {}
  std::string Name() const override { return "evolutionary"; }

  std::optional<Config> Propose(const Workload&) override {
    return FirstUnmeasured(ctx_, [&] { return Evolve(); });
  }

  void Observe(const Config& c, double gflops) override {
    if (gflops <= 0) return;
    population_.push_back({gflops, c});
    std::sort(population_.begin(), population_.end(),
                     [](const Scored& a, const Scored& b) { return a.gflops > b.gflops; });
    if (static_cast<int>(population_.size()) > std::max(1, ctx_.population)) population_.resize(ctx_.population);
  }

 private:
  struct Scored {
    double gflops;
    Config config;
  };

  const Config& Tournament() {
    std::uniform_int_distribution<size_t> pick(0, population_.size() - 1);
    size_t a = pick(*ctx_.rng), b = pick(*ctx_.rng);
    return population_[std::min(a, b)].config;  // sorted: a lower index is faster
  }

  std::optional<Config> Evolve() {
    std::uniform_real_distribution<double> coin(0, 1);
    std::mt19937_64& rng = *ctx_.rng;
    if (population_.empty() || coin(rng) < ctx_.explore) return ctx_.space->Sample(rng);
    if (population_.size() >= 2 && coin(rng) < 0.3) {
      auto child = ctx_.space->Crossover(Tournament(), Tournament(), rng);
      if (child && (coin(rng) < 0.5 || ctx_.measured->count(child->CanonicalJson()))) {
        if (auto m = ctx_.space->Mutate(*child, rng)) return m;
      }
      if (child) return child;
    }
    return ctx_.space->Mutate(Tournament(), rng);
  }

  SearchContext ctx_;
  std::vector<Scored> population_;
};

class ModelGuidedStrategy final : public SearchStrategy {
 public:
  ModelGuidedStrategy(std::unique_ptr<SearchStrategy> base, RankFn rank, int pool)
      : base_(std::move(base)), rank_(std::move(rank)), pool_(std::max(1, pool)) {}
  std::string Name() const override { return "model-guided(" + base_->Name() + ")"; }

  std::optional<Config> Propose(const Workload& w) override {
    std::vector<Config> pool;
    std::set<std::string> seen;
    for (int i = 0; i < pool_ * 4 && static_cast<int>(pool.size()) < pool_; ++i) {
      auto c = base_->Propose(w);
      if (!c) break;
      if (seen.insert(c->CanonicalJson()).second) pool.push_back(*c);
    }
    if (pool.empty()) return std::nullopt;
    std::vector<double> scores = rank_(w, pool);
    if (scores.size() != pool.size()) return pool.front();
    return pool[std::max_element(scores.begin(), scores.end()) - scores.begin()];
  }

  void Observe(const Config& c, double gflops) override { base_->Observe(c, gflops); }

 private:
  std::unique_ptr<SearchStrategy> base_;
  RankFn rank_;
  int pool_;
};

}  // namespace

std::vector<std::string> SearchStrategyNames() { return {"evolutionary", "random"}; }

Result<std::unique_ptr<SearchStrategy>> MakeSearchStrategy(const std::string& name, const SearchContext& ctx) {
  if (!ctx.space || !ctx.measured || !ctx.rng)
    return Error(ErrorCode::kInvalidArgument, "search strategy '{}': incomplete context", name);
  if (name == "random") return std::unique_ptr<SearchStrategy>(std::make_unique<RandomStrategy>(ctx));
  if (name == "evolutionary") return std::unique_ptr<SearchStrategy>(std::make_unique<EvolutionaryStrategy>(ctx));
  return Error(ErrorCode::kInvalidArgument, "unknown search strategy '{}' ({})", name,
               fmt::join(SearchStrategyNames(), ", "));
}

std::unique_ptr<SearchStrategy> MakeModelGuidedStrategy(std::unique_ptr<SearchStrategy> base, RankFn rank, int pool) {
  return std::make_unique<ModelGuidedStrategy>(std::move(base), std::move(rank), pool);
}

}  // namespace opal
