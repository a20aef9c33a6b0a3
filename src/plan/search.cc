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

#include "opal/plan_search.h"
#include "plan/cost_terms.h"
#include "plan/search_space.h"

namespace opal::plan {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

struct Label {
  double sum, maxc, pending, tail;
  int r;
  bool Dominates(const Label& o) const {
    return sum <= o.sum && maxc <= o.maxc && pending <= o.pending && tail <= o.tail && r <= o.r;
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
    for (const auto& c : sp.configs) {
      allowed_[c.pool] = true;
      min_price_ = std::min(min_price_, pools[c.pool].PricePerGpuHour());
    }
    for (size_t p = 0; p < pools.size(); ++p)
      if (allowed_[p]) free_ += pools[p].count;
    iters_ = static_cast<double>(ctx.model->iterations);
    L_ = static_cast<int>(ctx.model->layers.size());
    max_stages_ = o.max_stages > 0 ? o.max_stages : L_;
  }

  void Run(std::chrono::steady_clock::time_point deadline, bool limited) {
    deadline_ = deadline;
    limited_ = limited;
    Visit(L_, -1, 0, 0, 0, 0, 0, 0);
  }
  bool stopped() const { return stopped_; }
  double best() const { return best_; }
  const std::vector<Placed>& best_stages() const { return best_stages_; }
  long long nodes = 0, pruned = 0;

 private:
  struct Child {
    double lb;
    int cfg, first;
    double sum, maxc, pending, tail, price;
  };

  void Visit(int a, int left, int r, double sum, double maxc, double pending, double tail,
             double price) {
    if (limited_ && (stopped_ || std::chrono::steady_clock::now() > deadline_)) {
      stopped_ = true;
      return;
    }
    const ModelSpec& m = *ctx_.model;
    const auto& pools = ctx_.cluster->pools;
    std::vector<Child> kids;
    for (int k = 0; k < static_cast<int>(sp_.configs.size()); ++k) {
      const StageConfig& c = sp_.configs[k];
      const Pool& pool = pools[c.pool];
      if (used_[c.pool] + c.gpus > pool.count) continue;
      const double p2p = left >= 0
                             ? P2pSeconds(m.layers[a - 1].out_bytes, sp_.micro_batch, pool, c.tp,
                                          c.dp, pools[sp_.configs[left].pool], sp_.configs[left].tp,
                                          sp_.configs[left].dp, ctx_.options.p2p_split_by_tp)
                             : 0;
      const double maxc2 = left >= 0 ? std::max(maxc, pending + 2 * p2p) : maxc;
      const double price2 = price + c.price;
      const int remaining_free = free_ - c.gpus;
      const int inflight = InFlight(sp_.num_micro, r + 1);
      for (int f = a - 1; f >= 0; --f) {
        ++nodes;
        if (r + 1 == max_stages_ && f > 0) continue;
        const double params = pre_.params[a] - pre_.params[f];
        const double mem =
            StageMemory(params, pre_.act[a] - pre_.act[f], pre_.act_rep[a] - pre_.act_rep[f],
                        m.layers[a - 1].out_bytes, c.tp, c.mbs, inflight, m.state_bytes_per_param,
                        ctx_.options.reserve_bytes);
        if (mem > pool.gpu.memory) break;  // only grows as the stage takes more layers
        const double fb = c.fb[a] - c.fb[f];
        const double sum2 = sum + fb + 2 * p2p;
        const double pending2 = fb + 2 * p2p;
        const double tail2 =
            std::max(tail, AllReduceSeconds(pool, c.tp, c.dp, params, ctx_.options.grad_bytes) +
                               c.upd[a] - c.upd[f]);
        const double partial = sum2 + (sp_.num_micro - 1) * std::max(maxc2, pending2) + tail2;
        if (GoalValue(goal_, iters_, partial, price2) >= best_) {
          ++pruned;
          break;  // grows with the stage too
        }
        double lb_t, lb_price = price2;
        if (f == 0) {
          lb_t = partial;
        } else {
          if (remaining_free <= 0) continue;
          const double bottleneck = sp_.lb_work[f] / remaining_free;
          lb_t = sum2 + sp_.lb_sum[f] +
                 (sp_.num_micro - 1) * std::max({maxc2, pending2, bottleneck}) + tail2;
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
        kids.push_back({lb, k, f, sum2, maxc2, pending2, tail2, price2});
      }
    }
    std::sort(kids.begin(), kids.end(), [](const Child& x, const Child& y) { return x.lb < y.lb; });
    for (const Child& ch : kids) {
      if (ch.lb >= best_ || stopped_) break;
      const StageConfig& c = sp_.configs[ch.cfg];
      Label label{ch.sum, ch.maxc, ch.pending, ch.tail, r + 1};
      used_[c.pool] += c.gpus;
      free_ -= c.gpus;
      if (!Dominated(ch.first, ch.cfg, label)) {
        path_.push_back({ch.cfg, ch.first});
        Visit(ch.first, ch.cfg, r + 1, ch.sum, ch.maxc, ch.pending, ch.tail, ch.price);
        path_.pop_back();
      } else {
        ++pruned;
      }
      used_[c.pool] -= c.gpus;
      free_ += c.gpus;
    }
  }

  // True when a label at least as good was seen for the same (layers left, boundary config, GPUs
  // used).
  bool Dominated(int a, int cfg, const Label& label) {
    const StageConfig& c = sp_.configs[cfg];
    std::string key;
    key.reserve(16 + 4 * used_.size());
    auto put = [&key](int v) { key.append(reinterpret_cast<const char*>(&v), sizeof v); };
    put(a);
    put(c.pool);
    put(c.dp);
    put(c.tp);
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
  int free_ = 0, L_ = 0, max_stages_ = 0;
  double min_price_ = 0, iters_ = 0;
  std::unordered_map<std::string, std::vector<Label>> memo_;
  std::chrono::steady_clock::time_point deadline_;
  bool limited_ = false, stopped_ = false;
};

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
  for (int b : MicroBatchCandidates(*ctx.model, options)) {
    SpaceForBatch sp = BuildSpace(ctx, options, b, &cache);
    if (sp.configs.empty()) continue;
    SearchResult seed;
    seed.objective = kInf;
    SeedPlans(ctx, goal, options, sp, pre, &seed);
    sp.seed_value = seed.objective;
    if (seed.found && seed.objective < best) {
      best = seed.objective;
      res.best = seed.best;
      res.found = true;
    }
    spaces.push_back(std::move(sp));
  }
  // Most promising micro-batch sizes first: their good plans prune the others.
  std::stable_sort(
      spaces.begin(), spaces.end(),
      [](const SpaceForBatch& x, const SpaceForBatch& y) { return x.seed_value < y.seed_value; });
  const bool limited = options.time_limit_s > 0;
  const auto deadline = t0 + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                 std::chrono::duration<double>(options.time_limit_s));
  res.stats.complete = true;
  {
    const int L = static_cast<int>(ctx.model->layers.size());
    double min_price = kInf;
    for (const auto& p : ctx.cluster->pools) min_price = std::min(min_price, p.PricePerGpuHour());
    res.stats.lower_bound = kInf;
    for (const SpaceForBatch& sp : spaces) {
      double t =
          sp.lb_sum[L] + (sp.num_micro - 1) * sp.lb_work[L] / std::max(1, ctx.cluster->TotalGpus());
      res.stats.lower_bound =
          std::min(res.stats.lower_bound,
                   GoalValue(goal, static_cast<double>(ctx.model->iterations), t, min_price));
    }
  }
  for (const SpaceForBatch& sp : spaces) {
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
        StagePlan s;
        s.first = st[st.size() - 1 - i].first;
        s.end = i + 1 < st.size() ? st[st.size() - 2 - i].first
                                  : static_cast<int>(ctx.model->layers.size());
        s.pool = c.pool;
        s.tp = c.tp;
        s.dp = c.dp;
        p.stages.push_back(s);
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
