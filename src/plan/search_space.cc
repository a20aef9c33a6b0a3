#include "plan/search_space.h"

#include <algorithm>
#include <limits>

#include "plan/cost_terms.h"

namespace opal::plan {

const std::vector<LayerTime>* LayerTimeCache::Get(int pool, int tp, int mbs) {
  auto key = std::make_tuple(pool, tp, mbs);
  if (missing_.count(key)) return nullptr;
  auto it = cache_.find(key);
  if (it != cache_.end()) return &it->second;
  const ModelSpec& m = *ctx_.model;
  std::vector<LayerTime> v;
  v.reserve(m.layers.size());
  for (int l = 0; l < static_cast<int>(m.layers.size()); ++l) {
    auto t = LayerTimeOf(ctx_, l, ctx_.cluster->pools[pool].gpu, mbs, tp);
    if (!t) {
      missing_[key] = true;
      return nullptr;
    }
    v.push_back(*t);
  }
  return &(cache_[key] = std::move(v));
}

double StageConfig::Fb(int f, int a) const {
  double fwd = 0, bwd = 0;
  for (const auto& t : times) {
    fwd = std::max(fwd, t.fwd[a] - t.fwd[f]);
    bwd = std::max(bwd, t.bwd[a] - t.bwd[f]);
  }
  return fwd + bwd;
}

StagePlan StageConfig::MakeStage(int first, int end) const {
  StagePlan s = plan::MakeStage(first, end, groups[0].pool, groups[0].tp, replicas);
  if (groups.size() > 1) s.mixed = groups;
  return s;
}

ModelPrefix::ModelPrefix(const ModelSpec& m) {
  params.assign(m.layers.size() + 1, 0);
  act = act_rep = act_exact = params;
  for (size_t l = 0; l < m.layers.size(); ++l) {
    params[l + 1] = params[l] + m.layers[l].params;
    act[l + 1] = act[l] + m.layers[l].act_bytes;
    act_rep[l + 1] = act_rep[l] + m.layers[l].act_replicated;
    act_exact[l + 1] = act_exact[l] + m.layers[l].act_exact;
  }
}

double ModelPrefix::Params(const ModelSpec& m, int f, int a) const {
  double p = params[a] - params[f];
  if (f == 0 && a == static_cast<int>(m.layers.size())) p -= m.tied_params;
  return p;
}

std::vector<GroupAt> GroupsAt(const PlanContext& ctx, const StageConfig& c) {
  std::vector<GroupAt> v;
  for (const auto& g : c.groups) v.push_back({&ctx.cluster->pools[g.pool], g});
  return v;
}

double ConfigMemory(const PlanContext& ctx, const ModelPrefix& pre, const StageConfig& c, int f,
                    int a, int inflight, bool* fits) {
  const ModelSpec& m = *ctx.model;
  double peak = 0;
  *fits = true;
  for (const auto& g : c.groups) {
    StageMemoryInput in;
    in.params = pre.Params(m, f, a);
    in.act_sharded = pre.act[a] - pre.act[f];
    in.act_replicated = pre.act_rep[a] - pre.act_rep[f];
    in.act_exact = pre.act_exact[a] - pre.act_exact[f];
    in.out_bytes = m.layers[a - 1].out_bytes;
    in.tp = g.tp;
    in.samples = g.samples;
    in.inflight = inflight;
    in.state_bytes_per_param = m.state_bytes_per_param;
    const GpuType& gpu = ctx.cluster->pools[g.pool].gpu;
    const double mem = StageMemoryBytes(in, gpu, ctx.options);
    if (mem > gpu.memory) *fits = false;
    peak = std::max(peak, mem);
  }
  return peak;
}

double StageConfig::Update(int f, int a) const {
  double u = 0;
  for (const auto& t : times) u = std::max(u, t.upd[a] - t.upd[f]);
  return u;
}

std::vector<int> MicroBatchCandidates(const ModelSpec& model, const SearchOptions& o) {
  std::vector<int> out;
  if (!o.micro_batches.empty()) {
    for (int b : o.micro_batches)
      if (b > 0 && model.global_batch % b == 0) out.push_back(b);
    return out;
  }
  for (int64_t b = 1; b <= std::min<int64_t>(model.global_batch, o.max_micro_batch); ++b)
    if (model.global_batch % b == 0) out.push_back(static_cast<int>(b));
  return out;
}

std::vector<std::vector<ReplicaGroup>> StageChoices(const PlanContext& ctx, const SearchOptions& o,
                                                    int micro_batch, LayerTimeCache* cache) {
  std::vector<std::vector<ReplicaGroup>> out;
  const auto& pools = ctx.cluster->pools;
  const int P = static_cast<int>(pools.size());
  auto max_tp = [&](int p) { return std::min(o.max_tp, pools[p].instance.gpus_per_node); };
  for (int p = 0; p < P; ++p) {
    if (o.only_pool >= 0 && p != o.only_pool) continue;
    for (int tp = 1; tp <= max_tp(p); tp *= 2)
      for (int dp = 1; dp <= micro_batch && dp * tp <= pools[p].count; ++dp)
        if (micro_batch % dp == 0 && cache->Get(p, tp, micro_batch / dp))
          out.push_back({ReplicaGroup{p, tp, dp, micro_batch / dp}});
  }
  if (o.max_mixed_replicas < 2 || o.only_pool >= 0 || !o.allow_heterogeneous) return out;
  // One replica's forward + backward over the whole model: what the split balances (summed once
  // per pool, tp and samples).
  std::map<std::tuple<int, int, int>, double> sums;
  auto model_seconds = [&](int pool, int tp, int n) {
    auto [it, fresh] = sums.emplace(std::make_tuple(pool, tp, n), 0.0);
    if (!fresh) return it->second;
    const auto* t = cache->Get(pool, tp, n);
    if (!t) return it->second = std::numeric_limits<double>::infinity();
    for (const auto& x : *t) it->second += x.fwd + x.bwd;
    return it->second;
  };
  for (int a = 0; a < P; ++a)
    for (int b = a + 1; b < P; ++b)
      for (int tp = 1; tp <= std::min(max_tp(a), max_tp(b)); tp *= 2)
        for (int na = 1; na * tp <= pools[a].count; na *= 2)
          for (int nb = 1; nb * tp <= pools[b].count; nb *= 2) {
            if (na + nb > o.max_mixed_replicas || na + nb > micro_batch) continue;
            const int pa = a, pb = b;
            std::vector<int> n = SplitSamples(micro_batch, {na, nb}, [&](int g, int k) {
              return model_seconds(g == 0 ? pa : pb, tp, k);
            });
            if (n.empty() || !cache->Get(a, tp, n[0]) || !cache->Get(b, tp, n[1])) continue;
            out.push_back({ReplicaGroup{a, tp, na, n[0]}, ReplicaGroup{b, tp, nb, n[1]}});
          }
  return out;
}

LayerFigures::LayerFigures(const ModelSpec& m, const std::vector<int>& set) {
  for (int l : set) {
    params.push_back(m.layers[l].params);
    act.push_back(m.layers[l].act_bytes);
    rep.push_back(m.layers[l].act_replicated);
    exact.push_back(m.layers[l].act_exact);
  }
  for (auto* v : {&params, &act, &rep, &exact}) std::sort(v->begin(), v->end());
}

int MemoryLayers(const PlanContext& ctx, const StageConfig& c, const std::vector<int>& set) {
  return MemoryLayers(ctx, c, LayerFigures(*ctx.model, set));
}

int MemoryLayers(const PlanContext& ctx, const StageConfig& c, const LayerFigures& f) {
  const ModelSpec& m = *ctx.model;
  const auto &params = f.params, &act = f.act, &rep = f.rep, &exact = f.exact;
  StageMemoryInput in;
  in.inflight = 1;
  in.state_bytes_per_param = m.state_bytes_per_param;
  const int n = static_cast<int>(params.size());
  for (int k = 0; k < n; ++k) {
    in.params += params[k];
    in.act_sharded += act[k];
    in.act_replicated += rep[k];
    in.act_exact += exact[k];
    // A stage of every layer holds the tied parameters once (ModelPrefix::Params).
    StageMemoryInput at = in;
    if (k + 1 == static_cast<int>(m.layers.size())) at.params -= m.tied_params;
    for (const auto& g : c.groups) {
      at.tp = g.tp;
      at.samples = g.samples;
      const GpuType& gpu = ctx.cluster->pools[g.pool].gpu;
      if (StageMemoryBytes(at, gpu, ctx.options) > gpu.memory) return k;
    }
  }
  return n;
}

namespace {

double LayerSeconds(const StageConfig& c, int l) {
  double t = std::numeric_limits<double>::infinity();
  for (const auto& g : c.times) t = std::min(t, g.fwd[l + 1] - g.fwd[l] + g.bwd[l + 1] - g.bwd[l]);
  return t;
}

// The cover bound on the layers of `set` (see SpaceForBatch::full_cycle_bound): the smallest C
// at which the stages the pools could form hold all of them.
double CoverBound(const PlanContext& ctx, const SpaceForBatch& sp, const std::vector<int>& set,
                  double lo) {
  const ModelSpec& m = *ctx.model;
  const int L = static_cast<int>(m.layers.size()), n = static_cast<int>(set.size());
  const auto& pools = ctx.cluster->pools;
  struct Cfg {
    int k_mem = 0;
    // Per group: sums of its k fastest layers of the set, by k.
    std::vector<std::vector<double>> fastest;
    double p2p = 0;
    // Per group: its pool and the share of a layer one of its GPUs does (its replica's samples
    // over the micro-batch, over tp): a stage's layers are done once over all its GPUs.
    std::vector<std::pair<int, double>> credit;
    int Layers(double C) const {  // layers of the set a stage holds at most with cycle C
      int k = 0;
      auto fits = [&](int kk) {
        for (const auto& f : fastest)
          if (f[kk] + p2p > C) return false;
        return true;
      };
      while (k < k_mem && fits(k + 1)) ++k;
      return k;
    }
  };
  std::vector<Cfg> cfgs;
  double min_out = 0;
  for (const auto& l : m.layers)
    if (l.out_bytes > 0) min_out = min_out > 0 ? std::min(min_out, l.out_bytes) : l.out_bytes;
  std::vector<int> all(L);
  for (int l = 0; l < L; ++l) all[l] = l;
  double hi = lo;
  const LayerFigures set_figs(m, set), all_figs(m, all);
  for (const auto& c : sp.configs) {
    Cfg x;
    x.k_mem = MemoryLayers(ctx, c, set_figs);
    if (x.k_mem == 0) continue;
    // A stage's forward+backward is at least each group's own sum over its layers, so at least
    // each group's sum over its k fastest layers of the set.
    for (const auto& g : c.times) {
      std::vector<double> t;
      for (int l : set) t.push_back(g.fwd[l + 1] - g.fwd[l] + g.bwd[l + 1] - g.bwd[l]);
      std::sort(t.begin(), t.end());
      std::vector<double> f(n + 1, 0);
      for (int i = 0; i < n; ++i) f[i + 1] = f[i] + t[i];
      x.fastest.push_back(std::move(f));
    }
    // A stage that cannot hold every layer has a neighbour: two transfers per cycle at least
    // (its own side of each).
    if (MemoryLayers(ctx, c, all_figs) < L)
      for (const auto& at : GroupsAt(ctx, c))
        x.p2p = std::max(
            x.p2p, 2 * P2pSideSeconds(
                           *at.pool, ReplicasPerNode(*at.pool, at.group.tp, at.group.count),
                           at.group.tp, min_out * at.group.samples, ctx.options.p2p_split_by_tp));
    for (const auto& g : c.groups)
      x.credit.push_back({g.pool, static_cast<double>(g.samples) / (sp.micro_batch * g.tp)});
    for (const auto& f : x.fastest) hi = std::max(hi, x.p2p + f[n]);
    cfgs.push_back(std::move(x));
  }
  auto covers = [&](double C) {
    std::vector<double> per_gpu(pools.size(), 0);
    for (const auto& x : cfgs) {
      const int k = x.Layers(C);
      for (const auto& [p, share] : x.credit) per_gpu[p] = std::max(per_gpu[p], k * share);
    }
    double layers = 0;
    for (size_t p = 0; p < pools.size(); ++p) layers += pools[p].count * per_gpu[p];
    return layers >= n - 1e-9;
  };
  if (cfgs.empty() || !covers(hi)) return lo;
  for (int it = 0; it < 60 && hi - lo > 1e-9 * hi; ++it) {
    const double mid = 0.5 * (lo + hi);
    (covers(mid) ? hi : lo) = mid;
  }
  return lo;
}

// See SpaceForBatch::full_cycle_bound. A few layers much cheaper than the rest (an embedding,
// an LM head) would let every stage of the relaxation hold them; the bound is taken over the
// layers without the e cheapest (their stages still must hold the others), for e = 0..4, and
// the largest kept.
double FullCycleBound(const PlanContext& ctx, const SpaceForBatch& sp, double lo) {
  const int L = static_cast<int>(ctx.model->layers.size());
  std::vector<double> cheapest(L, std::numeric_limits<double>::infinity());
  for (const auto& c : sp.configs)
    for (int l = 0; l < L; ++l) cheapest[l] = std::min(cheapest[l], LayerSeconds(c, l));
  std::vector<int> order(L);
  for (int l = 0; l < L; ++l) order[l] = l;
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return cheapest[a] < cheapest[b]; });
  double best = lo;
  for (int e = 0; e <= std::min(4, L - 1); ++e) {
    std::vector<int> set(order.begin() + e, order.end());
    best = std::max(best, CoverBound(ctx, sp, set, lo));
  }
  return best;
}

}  // namespace

SpaceForBatch BuildSpace(const PlanContext& ctx, const SearchOptions& o, int micro_batch,
                         LayerTimeCache* cache) {
  const ModelSpec& model = *ctx.model;
  const int L = static_cast<int>(model.layers.size());
  SpaceForBatch sp;
  sp.micro_batch = micro_batch;
  sp.num_micro = static_cast<int>(model.global_batch / micro_batch);
  const auto& pools = ctx.cluster->pools;
  for (auto& groups : StageChoices(ctx, o, micro_batch, cache)) {
    StageConfig c;
    c.groups = std::move(groups);
    c.replicas = c.gpus = 0;
    for (const auto& g : c.groups) {
      const auto* times = cache->Get(g.pool, g.tp, g.samples);
      GroupTimes gt;
      gt.fwd.assign(L + 1, 0);
      gt.bwd = gt.upd = gt.fwd;
      for (int l = 0; l < L; ++l) {
        const LayerTime& t = (*times)[l];
        gt.fwd[l + 1] = gt.fwd[l] + t.fwd;
        gt.bwd[l + 1] = gt.bwd[l] + t.bwd;
        gt.upd[l + 1] = gt.upd[l] + t.update;
      }
      c.times.push_back(std::move(gt));
      c.replicas += g.count;
      c.gpus += g.tp * g.count;
      c.price += g.tp * g.count * pools[g.pool].PricePerGpuHour();
    }
    sp.configs.push_back(std::move(c));
  }
  const double inf = std::numeric_limits<double>::infinity();
  const int P = static_cast<int>(pools.size());
  const ModelPrefix pre(model);
  sp.lb_sum.assign(L + 1, 0);
  sp.lb_work.assign(L + 1, 0);
  // GPU-seconds per sample of each layer on each pool: the fewest over the groups that can hold
  // the layer (alone on a stage, one micro-batch in flight). A group's GPUs are busy at least
  // its own time, whatever the rest of its stage does.
  std::vector<std::vector<double>> per_sample(L, std::vector<double>(P, inf));
  for (int l = 0; l < L; ++l) {
    double best = inf;
    for (const auto& c : sp.configs) {
      // The fastest group's: a stage's time over layers is at least any group's sum, so the
      // per-layer minimum over groups sums to a bound (the per-layer maximum would not).
      double t = inf;
      for (const auto& g : c.times)
        t = std::min(t, g.fwd[l + 1] - g.fwd[l] + g.bwd[l + 1] - g.bwd[l]);
      best = std::min(best, t);
      bool fits = true;
      ConfigMemory(ctx, pre, c, l, l + 1, 1, &fits);
      if (!fits) continue;
      for (size_t g = 0; g < c.groups.size(); ++g) {
        const ReplicaGroup& rg = c.groups[g];
        const GroupTimes& gt = c.times[g];
        const double own = gt.fwd[l + 1] - gt.fwd[l] + gt.bwd[l + 1] - gt.bwd[l];
        per_sample[l][rg.pool] = std::min(per_sample[l][rg.pool], own * rg.tp / rg.samples);
      }
    }
    sp.lb_sum[l + 1] = sp.lb_sum[l] + (sp.configs.empty() ? 0 : best);
  }
  std::vector<double> ref(L, inf);
  for (int l = 0; l < L; ++l)
    for (int p = 0; p < P; ++p) ref[l] = std::min(ref[l], per_sample[l][p]);
  sp.pool_rate.assign(P, 0);
  for (int p = 0; p < P; ++p) {
    double ratio = inf;
    for (int l = 0; l < L; ++l)
      if (per_sample[l][p] < inf && ref[l] > 0) ratio = std::min(ratio, per_sample[l][p] / ref[l]);
    sp.pool_rate[p] = ratio < inf ? 1 / ratio : 0;
  }
  for (int l = 0; l < L; ++l)
    sp.lb_work[l + 1] = sp.lb_work[l] + (ref[l] < inf ? ref[l] * micro_batch : 0);
  std::vector<int> counts;
  for (const auto& p : pools) counts.push_back(p.count);
  sp.full_cycle_bound = FullCycleBound(ctx, sp, sp.CycleBound(L, counts));
  return sp;
}

double SpaceForBatch::CycleBound(int a, const std::vector<int>& free) const {
  if (lb_work[a] <= 0) return 0;
  double rate = 0;
  for (size_t p = 0; p < free.size() && p < pool_rate.size(); ++p)
    rate += std::max(0, free[p]) * pool_rate[p];
  return rate > 0 ? lb_work[a] / rate : std::numeric_limits<double>::infinity();
}

}  // namespace opal::plan
