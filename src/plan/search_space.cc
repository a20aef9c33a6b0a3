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

ModelPrefix::ModelPrefix(const ModelSpec& m) {
  params.assign(m.layers.size() + 1, 0);
  act = act_rep = params;
  for (size_t l = 0; l < m.layers.size(); ++l) {
    params[l + 1] = params[l] + m.layers[l].params;
    act[l + 1] = act[l] + m.layers[l].act_bytes;
    act_rep[l + 1] = act_rep[l] + m.layers[l].act_replicated;
  }
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

SpaceForBatch BuildSpace(const PlanContext& ctx, const SearchOptions& o, int micro_batch,
                         LayerTimeCache* cache) {
  const ModelSpec& model = *ctx.model;
  const int L = static_cast<int>(model.layers.size());
  SpaceForBatch sp;
  sp.micro_batch = micro_batch;
  sp.num_micro = static_cast<int>(model.global_batch / micro_batch);
  const auto& pools = ctx.cluster->pools;
  for (int p = 0; p < static_cast<int>(pools.size()); ++p) {
    if (o.only_pool >= 0 && p != o.only_pool) continue;
    for (int tp = 1; tp <= std::min(o.max_tp, pools[p].instance.gpus_per_node); tp *= 2) {
      for (int dp = 1; dp <= micro_batch && dp * tp <= pools[p].count; ++dp) {
        if (micro_batch % dp != 0) continue;
        const auto* times = cache->Get(p, tp, micro_batch / dp);
        if (!times) continue;
        StageConfig c;
        c.pool = p;
        c.tp = tp;
        c.dp = dp;
        c.mbs = micro_batch / dp;
        c.gpus = tp * dp;
        c.price = c.gpus * pools[p].PricePerGpuHour();
        c.fb.assign(L + 1, 0);
        c.upd.assign(L + 1, 0);
        for (int l = 0; l < L; ++l) {
          c.fb[l + 1] = c.fb[l] + (*times)[l].fwd + (*times)[l].bwd;
          c.upd[l + 1] = c.upd[l] + (*times)[l].update;
        }
        sp.configs.push_back(std::move(c));
      }
    }
  }
  const double inf = std::numeric_limits<double>::infinity();
  sp.lb_sum.assign(L + 1, 0);
  sp.lb_work.assign(L + 1, 0);
  for (int l = 0; l < L; ++l) {
    double best = inf, work = inf;
    for (const auto& c : sp.configs) {
      double t = c.fb[l + 1] - c.fb[l];
      best = std::min(best, t);
      work = std::min(work, t * c.gpus);
    }
    sp.lb_sum[l + 1] = sp.lb_sum[l] + (sp.configs.empty() ? 0 : best);
    sp.lb_work[l + 1] = sp.lb_work[l] + (sp.configs.empty() ? 0 : work);
  }
  return sp;
}

}  // namespace opal::plan
