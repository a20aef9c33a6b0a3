// Branch-and-bound plan search. Stages are placed from the last layer backwards, so the number
// of stages after a stage (which sets its in-flight micro-batches under 1F1B) is known when it
// is placed. Lower bounds: remaining layers at their fastest configuration (sum term), and the
// remaining GPU-seconds spread over the remaining GPUs (bottleneck term). Dominated partial plans
// (same layers left, GPUs used and boundary configuration; no better in any cost term) are cut.
#include <algorithm>
#include <chrono>
#include <limits>
#include <string>
#include <unordered_map>

#include "opal/log.h"
#include "opal/plan_search.h"
#include "plan/cost_terms.h"
#include "plan/parallel.h"
#include "plan/search_space.h"
#include "plan/time_bound.h"

namespace opal::plan {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// A partial plan (stages placed from the last layer back to `a`): the sum of its stages'
// forward+backward and transfers, the largest complete cycle, the cycle of the stage at the
// boundary without its incoming transfer, the largest tail of its stages other than the plan's
// last one, the last stage's own tail and its side of the tied all-reduce.
struct Label {
  double sum, maxc, pending, tail_mid, last_tail, last_side;
  int r;
  bool Dominates(const Label& o) const {
    return sum <= o.sum && maxc <= o.maxc && pending <= o.pending && tail_mid <= o.tail_mid &&
           last_tail <= o.last_tail && last_side <= o.last_side && r <= o.r;
  }
};

struct Placed {
  int cfg, first;
};

class BranchAndBound {
 public:
  BranchAndBound(const PlanContext& ctx, const Goal& goal, const SearchOptions& o,
                 const SpaceForBatch& sp, const ModelPrefix& pre, double incumbent)
      : ctx_(ctx), goal_(goal), sp_(sp), pre_(pre), best_(incumbent) {
    const auto& pools = ctx.cluster->pools;
    used_.assign(pools.size(), 0);
    allowed_.assign(pools.size(), false);
    min_price_ = kInf;
    for (const auto& c : sp.configs)
      for (const auto& g : c.groups) {
        allowed_[g.pool] = true;
        min_price_ = std::min(min_price_, pools[g.pool].PricePerGpuHour());
      }
    for (size_t p = 0; p < pools.size(); ++p)
      if (allowed_[p]) free_ += pools[p].count;
    iters_ = static_cast<double>(ctx.model->iterations);
    L_ = static_cast<int>(ctx.model->layers.size());
    max_stages_ = o.max_stages > 0 ? o.max_stages : L_;
    tied_bytes_ = ctx.model->tied_params * ctx.model->dtype_bytes;
    for (const auto& c : sp.configs) {
      at_.push_back(GroupsAt(ctx, c));
      tied_side_.push_back(TiedAllReduceSeconds(at_.back(), {}, tied_bytes_));
    }
  }

  void Run(std::chrono::steady_clock::time_point deadline, bool limited) {
    deadline_ = deadline;
    limited_ = limited;
    Visit(L_, -1, Label{0, 0, 0, 0, 0, 0, 0}, 0);
  }
  bool stopped() const { return stopped_; }
  double best() const { return best_; }
  const std::vector<Placed>& best_stages() const { return best_stages_; }
  long long nodes = 0, pruned = 0;

 private:
  struct Child {
    double lb;
    int cfg, first;
    Label label;
    double price;
  };

  bool Fits(const StageConfig& c) const {
    for (const auto& g : c.groups)
      if (used_[g.pool] + g.tp * g.count > ctx_.cluster->pools[g.pool].count) return false;
    return true;
  }
  void Use(const StageConfig& c, int sign) {
    for (const auto& g : c.groups) used_[g.pool] += sign * g.tp * g.count;
    free_ -= sign * c.gpus;
  }

  void Visit(int a, int left, const Label& at, double price) {
    if (limited_ && (stopped_ || std::chrono::steady_clock::now() > deadline_)) {
      stopped_ = true;
      return;
    }
    const ModelSpec& m = *ctx_.model;
    const int M = sp_.num_micro;
    std::vector<Child> kids;
    for (int k = 0; k < static_cast<int>(sp_.configs.size()); ++k) {
      const StageConfig& c = sp_.configs[k];
      if (!Fits(c)) continue;
      const bool root = left < 0;
      const double p2p = root ? 0
                              : P2pSeconds(at_[k], at_[left], m.layers[a - 1].out_bytes,
                                           ctx_.options.p2p_split_by_tp);
      const double maxc2 = root ? at.maxc : std::max(at.maxc, at.pending + 2 * p2p);
      const double price2 = price + c.price;
      const int remaining_free = free_ - c.gpus;
      std::vector<int> left_per_pool(used_.size());
      for (size_t p = 0; p < used_.size(); ++p)
        left_per_pool[p] = allowed_[p] ? ctx_.cluster->pools[p].count - used_[p] : 0;
      for (const auto& g : c.groups) left_per_pool[g.pool] -= g.tp * g.count;
      const int inflight = InFlight(M, at.r + 1);
      for (int f = a - 1; f >= 0; --f) {
        ++nodes;
        if (at.r + 1 == max_stages_ && f > 0) continue;
        bool fits = true;
        ConfigMemory(ctx_, pre_, c, f, a, inflight, &fits);
        if (!fits) break;  // only grows as the stage takes more layers
        const double fb = c.Fb(f, a);
        const double own_tail = GradAllReduceSeconds(at_[k], pre_.Params(m, f, a) * m.dtype_bytes,
                                                     ctx_.options.hierarchical_allreduce) +
                                c.Update(f, a);
        Label next{at.sum + fb + 2 * p2p, maxc2,        fb + 2 * p2p, at.tail_mid,
                   at.last_tail,          at.last_side, at.r + 1};
        if (root) {
          next.last_tail = own_tail;
          next.last_side = tied_side_[k];
        } else {
          next.tail_mid = std::max(at.tail_mid, own_tail);
        }
        double tail = std::max(next.tail_mid, next.last_tail);
        if (f == 0 && !root) {  // complete: the tied all-reduce joins the first and last stage
          const double tied = std::max(tied_side_[k], next.last_side);
          tail = std::max({at.tail_mid, own_tail + tied, next.last_tail + tied});
        } else if (f == 0) {
          tail = own_tail;  // one stage: no tied all-reduce
        }
        const double partial = next.sum + (M - 1) * std::max(next.maxc, next.pending) + tail;
        if (GoalValue(goal_, iters_, partial, price2) >= best_) {
          ++pruned;
          break;  // grows with the stage too
        }
        double lb_t, lb_price = price2;
        if (f == 0) {
          lb_t = partial;
        } else {
          if (remaining_free <= 0) continue;
          const double bottleneck = sp_.CycleBound(f, left_per_pool);
          lb_t = next.sum + sp_.lb_sum[f] +
                 (M - 1) * std::max({next.maxc, next.pending, bottleneck}) + tail;
          lb_price += min_price_;
        }
        const double lb = GoalValue(goal_, iters_, lb_t, lb_price);
        if (lb >= best_) {
          ++pruned;
          continue;
        }
        if (f == 0) {  // complete plan: lb is its exact value
          best_ = lb;
          path_.push_back({k, 0});
          best_stages_ = path_;
          path_.pop_back();
          continue;
        }
        kids.push_back({lb, k, f, next, price2});
      }
    }
    std::sort(kids.begin(), kids.end(), [](const Child& x, const Child& y) { return x.lb < y.lb; });
    for (const Child& ch : kids) {
      if (ch.lb >= best_ || stopped_) break;
      const StageConfig& c = sp_.configs[ch.cfg];
      Use(c, +1);
      if (!Dominated(ch.first, ch.cfg, ch.label)) {
        path_.push_back({ch.cfg, ch.first});
        Visit(ch.first, ch.cfg, ch.label, ch.price);
        path_.pop_back();
      } else {
        ++pruned;
      }
      Use(c, -1);
    }
  }

  // True when a label at least as good was seen for the same (layers left, boundary config, GPUs
  // used).
  bool Dominated(int a, int cfg, const Label& label) {
    std::string key;
    key.reserve(8 + 4 * used_.size());
    auto put = [&key](int v) { key.append(reinterpret_cast<const char*>(&v), sizeof v); };
    put(a);
    put(cfg);
    for (int u : used_) put(u);
    auto& list = memo_[key];
    for (const Label& l : list)
      if (l.Dominates(label)) return true;
    if (list.size() < 16) list.push_back(label);
    return false;
  }

  const PlanContext& ctx_;
  const Goal& goal_;
  const SpaceForBatch& sp_;
  const ModelPrefix& pre_;
  double best_;
  std::vector<Placed> best_stages_, path_;
  std::vector<int> used_;
  std::vector<bool> allowed_;
  std::vector<std::vector<GroupAt>> at_;  // per config
  std::vector<double> tied_side_;         // per config: its side of the tied all-reduce
  int free_ = 0, L_ = 0, max_stages_ = 0;
  double min_price_ = 0, iters_ = 0, tied_bytes_ = 0;
  std::unordered_map<std::string, std::vector<Label>> memo_;
  std::chrono::steady_clock::time_point deadline_;
  bool limited_ = false, stopped_ = false;
};

// The iteration time above which a plan's goal value is at least `value` whatever its price
// (at least `min_price` per hour): kInf when there is no such time.
double TimeAbove(const Goal& goal, double value, double min_price) {
  if (value == kInf) return kInf;
  switch (goal.kind) {
    case Goal::Kind::kMinCostPerIter:
    case Goal::Kind::kMinCostDeadline:
      return min_price > 0 ? value * 3600 / min_price : kInf;
    default:
      return value;
  }
}

}  // namespace

Status CheckSearchInputs(const PlanContext& ctx, const Goal& goal) {
  if (!ctx.model || !ctx.cluster || !ctx.perf)
    return Error(ErrorCode::kInternal, "incomplete plan context");
  if (ctx.model->layers.empty())
    return Error(ErrorCode::kInvalidModel, "model '{}' has no layers", ctx.model->name);
  if (ctx.cluster->pools.empty())
    return Error(ErrorCode::kInvalidArgument, "the cluster has no GPUs available");
  if ((goal.kind == Goal::Kind::kMinCostDeadline || goal.kind == Goal::Kind::kMinTimeBudget) &&
      ctx.model->iterations <= 0)
    return Error(ErrorCode::kInvalidArgument,
                 "goal '{}' needs the job length: give \"iterations\" or \"tokens\" in the model "
                 "file or --iterations",
                 goal.Describe());
  return Status::Ok();
}

Result<SearchResult> SearchPlan(const PlanContext& ctx, const Goal& goal,
                                const SearchOptions& options) {
  OPAL_RETURN_IF_ERROR(CheckSearchInputs(ctx, goal));
  auto t0 = std::chrono::steady_clock::now();
  SearchResult res;
  res.objective = kInf;
  double best = kInf;
  for (Plan seed : options.seeds) {  // known plans (e.g. homogeneous optima) as first incumbents
    if (!EstimatePlan(ctx, &seed).ok()) continue;
    double v = Objective(goal, *ctx.model, seed);
    if (v < best) {
      best = v;
      res.best = seed;
      res.found = true;
    }
  }
  ModelPrefix pre(*ctx.model);
  LayerTimeCache cache(ctx);
  std::vector<SpaceForBatch> spaces;
  const bool limited = options.time_limit_s > 0;
  // The micro-batch sizes' bounds and balanced seeds are independent: computed in parallel.
  const int threads = options.threads > 0 ? options.threads : DefaultPlanThreads();
  const auto deadline = t0 + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                 std::chrono::duration<double>(options.time_limit_s));
  double min_price = kInf;
  for (const auto& p : ctx.cluster->pools) min_price = std::min(min_price, p.PricePerGpuHour());
  const double iters = static_cast<double>(ctx.model->iterations);
  // With a time limit T, the phases end at shares of it: uniform seeds 0.2 T, first balanced
  // seeds of the three most promising sizes 0.3 T, bounds 0.55 T,
  // balanced seeds 0.85 T, bounds refined 0.97 T, then the branch and bound.
  auto at = [&](double share) {
    return limited ? t0 + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                              std::chrono::duration<double>(options.time_limit_s * share))
                   : std::chrono::steady_clock::time_point::max();
  };
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  const int L = static_cast<int>(ctx.model->layers.size());
  std::vector<int> counts;
  for (const auto& p : ctx.cluster->pools) counts.push_back(p.count);
  for (int b : MicroBatchCandidates(*ctx.model, options)) {
    SpaceForBatch sp = BuildSpace(ctx, options, b, &cache);
    if (sp.configs.empty()) continue;
    // The space's own bound (sum + cycle bounds): orders the uniform seeds and skips them.
    sp.bound_value = GoalValue(
        goal, iters,
        sp.lb_sum[L] + (sp.num_micro - 1) * std::max(sp.CycleBound(L, counts), sp.full_cycle_bound),
        min_price);
    spaces.push_back(std::move(sp));
  }
  log::Debug("search: {} spaces built at {:.3f} s", spaces.size(), elapsed());
  // Uniform seeds, most promising micro-batch sizes first (smallest own bound); with a time
  // limit they stop at 0.2 T, and a size whose own bound reaches the incumbent gets none
  // (its plans cannot win).
  std::stable_sort(
      spaces.begin(), spaces.end(),
      [](const SpaceForBatch& x, const SpaceForBatch& y) { return x.bound_value < y.bound_value; });
  const auto uniform_deadline = at(0.2);
  for (SpaceForBatch& sp : spaces) {
    if (sp.bound_value >= best ||
        (best < kInf && std::chrono::steady_clock::now() > uniform_deadline))
      continue;
    SearchResult seed;
    seed.objective = kInf;
    SeedUniformPlans(ctx, goal, options, sp, &seed);
    sp.seed_value = seed.objective;
    if (seed.found && seed.objective < best) {
      best = seed.objective;
      res.best = seed.best;
      res.found = true;
    }
  }
  // Balanced seeds of the `n` most promising spaces, in parallel: a size whose bound reaches the
  // incumbent (as it stood before them) gets none; the best seed of all becomes the incumbent.
  auto balanced = [&](size_t n, bool more, std::chrono::steady_clock::time_point until) {
    std::vector<SearchResult> seeds(std::min(n, spaces.size()));
    const double before = best;
    ParallelFor(static_cast<int>(seeds.size()), threads, [&](int j) {
      seeds[j].objective = kInf;
      const SpaceForBatch& sp = spaces[j];
      if (sp.bound_value >= before) return;
      SeedBalancedPlans(ctx, goal, options, sp, pre, more, &seeds[j], until);
    });
    for (SearchResult& seed : seeds) {
      if (seed.found && seed.objective < best) {
        best = seed.objective;
        res.best = std::move(seed.best);
        res.found = true;
      }
    }
  };
  // A close incumbent lets the bounds below stop early: the first balanced seeds of the three
  // most promising sizes.
  balanced(3, false, at(0.3));
  res.stats.complete = true;
  // Lower bounds per micro-batch size (PlanTimeLowerBound), refined up to the time at which no
  // plan can beat the incumbent; with a time limit they stop at 0.55 T. A size whose
  // bound reaches the incumbent is not searched.
  log::Debug("search: uniform seeds at {:.3f} s, best {:.3f}", elapsed(), best);
  const auto bound_deadline = at(0.55);
  res.stats.lower_bound = kInf;
  std::vector<TimeBound> bounds(spaces.size());
  const double stop_at = TimeAbove(goal, best, min_price);
  ParallelFor(static_cast<int>(spaces.size()), threads, [&](int i) {
    bounds[i] = PlanTimeLowerBound(ctx, spaces[i], pre, stop_at, bound_deadline);
  });
  for (size_t i = 0; i < spaces.size(); ++i) {
    SpaceForBatch& sp = spaces[i];
    const TimeBound& tb = bounds[i];
    sp.bound_value = GoalValue(goal, iters, tb.seconds, min_price);
    sp.relaxed_cycle = tb.cycle;
    sp.relaxed_tail = tb.tail;
    sp.relaxed_config = tb.pool_config;
    res.stats.lower_bound = std::min(res.stats.lower_bound, sp.bound_value);
  }
  // Most promising micro-batch sizes first (smallest bound): with a time limit they get the
  // balanced seeds first, and their good plans prune the others.
  std::stable_sort(
      spaces.begin(), spaces.end(),
      [](const SpaceForBatch& x, const SpaceForBatch& y) { return x.bound_value < y.bound_value; });
  log::Debug("search: bounds at {:.3f} s, best {:.3f}, bound {:.3f}", elapsed(), best,
             res.stats.lower_bound);
  // Balanced seeds: the first variant over every size, then the others, most promising sizes
  // first.
  const auto balanced_deadline = at(0.85);
  for (bool more : {false, true}) balanced(spaces.size(), more, balanced_deadline);
  log::Debug("search: balanced seeds at {:.3f} s, best {:.3f}", elapsed(), best);
  // Bounds below the incumbent are refined again against it (until 0.97 T): a closer incumbent
  // narrows the range of cycles and tails to cover, and the boxes are split finer (to 0.2 % of
  // it).
  if (limited) {
    const auto until = at(0.97);
    const double refine_at = TimeAbove(goal, best, min_price);
    ParallelFor(static_cast<int>(spaces.size()), threads, [&](int i) {
      SpaceForBatch& sp = spaces[i];
      if (sp.bound_value >= best || std::chrono::steady_clock::now() > until) return;
      const TimeBound tb = PlanTimeLowerBound(ctx, sp, pre, refine_at, until);
      sp.bound_value = std::max(sp.bound_value, GoalValue(goal, iters, tb.seconds, min_price));
    });
    res.stats.lower_bound = kInf;
    for (const SpaceForBatch& sp : spaces)
      res.stats.lower_bound = std::min(res.stats.lower_bound, sp.bound_value);
    log::Debug("search: bounds refined at {:.3f} s, bound {:.3f}", elapsed(),
               res.stats.lower_bound);
  }
  for (size_t i = 0; i < spaces.size(); ++i) {
    const SpaceForBatch& sp = spaces[i];
    if (sp.bound_value >= best) continue;  // no plan of this size beats the incumbent
    const int b = sp.micro_batch;
    BranchAndBound bb(ctx, goal, options, sp, pre, best);
    bb.Run(deadline, limited);
    if (bb.stopped()) res.stats.complete = false;
    res.stats.nodes += bb.nodes;
    res.stats.pruned += bb.pruned;
    if (bb.best() < best && !bb.best_stages().empty()) {
      best = bb.best();
      Plan p;
      p.micro_batch = b;
      const auto& st = bb.best_stages();  // last stage first
      for (size_t i = 0; i < st.size(); ++i) {
        const StageConfig& c = sp.configs[st[st.size() - 1 - i].cfg];
        const int first = st[st.size() - 1 - i].first;
        const int end = i + 1 < st.size() ? st[st.size() - 2 - i].first
                                          : static_cast<int>(ctx.model->layers.size());
        p.stages.push_back(c.MakeStage(first, end));
      }
      OPAL_RETURN_IF_ERROR(EstimatePlan(ctx, &p));
      res.best = p;
      res.found = true;
    }
  }
  res.objective = best;
  if (!res.found) res.objective = kInf;
  res.stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

}  // namespace opal::plan
