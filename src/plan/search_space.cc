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
  act = act_rep = params;
  for (size_t l = 0; l < m.layers.size(); ++l) {
    params[l + 1] = params[l] + m.layers[l].params;
    act[l + 1] = act[l] + m.layers[l].act_bytes;
    act_rep[l + 1] = act_rep[l] + m.layers[l].act_replicated;
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
  // One replica's forward + backward over the whole model: what the split balances.
  auto model_seconds = [&](int pool, int tp, int n) {
    const auto* t = cache->Get(pool, tp, n);
    if (!t) return std::numeric_limits<double>::infinity();
    double s = 0;
    for (const auto& x : *t) s += x.fwd + x.bwd;
    return s;
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
