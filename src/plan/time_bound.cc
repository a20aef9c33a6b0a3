// The search's lower bound on the iteration time (see time_bound.h).
#include "plan/time_bound.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <queue>

#include "plan/iteration_terms.h"

namespace opal::plan {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Largest k with prefix[k] <= x (prefix[0] = 0, non-decreasing); -1 when x < 0.
int MaxCount(const std::vector<double>& prefix, double x) {
  return static_cast<int>(std::upper_bound(prefix.begin(), prefix.end(), x) - prefix.begin()) - 1;
}

std::vector<double> SortedPrefix(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  std::vector<double> p(v.size() + 1, 0);
  for (size_t i = 0; i < v.size(); ++i) p[i + 1] = p[i] + v[i];
  return p;
}

// What the relaxation needs of one stage configuration.
struct Config {
  std::vector<double> fb, tail;                // per layer: forward+backward, tail (both at least)
  std::vector<char> fits;                      // per layer: the layer alone fits every group's GPU
  std::vector<double> class_fb, class_tail;    // per class of layers: its members' smallest
  std::vector<char> class_fits;                // per class: some member fits alone
  std::vector<double> fb_prefix, tail_prefix;  // sums of the k smallest
  int k_mem = 0;
  double cycle_p2p = 0;  // its side of two transfers, in every cycle (0: may be the only stage)
  double fill_p2p = 0;   // its side of one transfer, in the fill once per stage
  std::vector<std::pair<int, double>> gpus;  // pool, GPUs of it
  // Layers a stage holds at most with cycle <= C and tail <= tau.
  int Layers(double C, double tau) const {
    int k = std::min(k_mem, MaxCount(tail_prefix, tau));
    if (C < kInf) k = std::min(k, MaxCount(fb_prefix, C - cycle_p2p));
    return std::max(k, 0);
  }
};

// Layers with the same figures in every configuration, counted once.
struct LayerClass {
  int layer = 0, count = 0;
};

class Relaxation {
 public:
  Relaxation(const PlanContext& ctx, const SpaceForBatch& sp, const ModelPrefix& pre) {
    const ModelSpec& m = *ctx.model;
    const int L = static_cast<int>(m.layers.size());
    pools_ = static_cast<int>(ctx.cluster->pools.size());
    for (const auto& p : ctx.cluster->pools) counts_.push_back(p.count);
    double min_out = kInf;
    for (const auto& l : m.layers)
      if (l.out_bytes > 0) min_out = std::min(min_out, l.out_bytes);
    std::vector<int> all(L);
    for (int l = 0; l < L; ++l) all[l] = l;
    for (const auto& c : sp.configs) {
      Config x;
      const auto at = GroupsAt(ctx, c);
      // Seconds per gradient byte at the links' peaks: the all-reduce of a stage is at least its
      // layers' sum of this times their gradient bytes.
      const double ar = GradAllReduceSeconds(at, 1.0, ctx.options.hierarchical_allreduce, true);
      for (int l = 0; l < L; ++l) {
        double fb = kInf, upd = kInf;
        for (const auto& t : c.times) {
          fb = std::min(fb, t.fwd[l + 1] - t.fwd[l] + t.bwd[l + 1] - t.bwd[l]);
          upd = std::min(upd, t.upd[l + 1] - t.upd[l]);
        }
        // The tied parameters are reduced once when one stage holds both ends: leave them out.
        double params = m.layers[l].params;
        if (l == 0 || l == L - 1) params = std::max(0.0, params - m.tied_params);
        x.fb.push_back(fb);
        x.tail.push_back(upd + ar * params * m.dtype_bytes);
        bool fits = true;
        ConfigMemory(ctx, pre, c, l, l + 1, 1, &fits);
        x.fits.push_back(fits);
      }
      x.fb_prefix = SortedPrefix(x.fb);
      x.tail_prefix = SortedPrefix(x.tail);
      x.k_mem = MemoryLayers(ctx, c, all);
      if (x.k_mem < L && min_out < kInf)
        for (const auto& g : at) {
          const double side =
              P2pSideSeconds(*g.pool, ReplicasPerNode(*g.pool, g.group.tp, g.group.count),
                             g.group.tp, min_out * g.group.samples, ctx.options.p2p_split_by_tp);
          x.fill_p2p = std::max(x.fill_p2p, side);
          x.cycle_p2p = std::max(x.cycle_p2p, 2 * side);
        }
      std::map<int, double> per_pool;
      for (const auto& g : c.groups) per_pool[g.pool] += g.tp * g.count;
      x.gpus.assign(per_pool.begin(), per_pool.end());
      configs_.push_back(std::move(x));
    }
    // Classes of layers equal to 9 digits in every configuration (the blocks of a transformer
    // under the roofline, up to the rounding of prefix sums); a class takes its members' smallest
    // figures and fits where any member fits, so it bounds each of them.
    std::map<std::vector<double>, int> seen;
    auto digits = [](double v) {
      if (v == 0 || !std::isfinite(v)) return v;
      const double scale = std::pow(10.0, 8 - std::floor(std::log10(std::abs(v))));
      return std::round(v * scale) / scale;
    };
    std::vector<int> class_of(L);
    for (int l = 0; l < L; ++l) {
      std::vector<double> key;
      for (const auto& x : configs_)
        key.insert(key.end(), {digits(x.fb[l]), digits(x.tail[l]), 1.0 * x.fits[l]});
      auto [it, fresh] = seen.emplace(std::move(key), static_cast<int>(classes_.size()));
      if (fresh) classes_.push_back({l, 0});
      classes_[it->second].count += 1;
      class_of[l] = it->second;
    }
    for (auto& x : configs_) {
      x.class_fb.assign(classes_.size(), kInf);
      x.class_tail.assign(classes_.size(), kInf);
      x.class_fits.assign(classes_.size(), 0);
      for (int l = 0; l < L; ++l) {
        const int i = class_of[l];
        x.class_fb[i] = std::min(x.class_fb[i], x.fb[l]);
        x.class_tail[i] = std::min(x.class_tail[i], x.tail[l]);
        x.class_fits[i] = x.class_fits[i] || x.fits[l];
      }
    }
  }

  int pools() const { return pools_; }

  // A lower bound on the fill of every plan whose cycles are <= C and tails <= tau (kInf: none
  // has); `lambda` (one per pool) starts the dual ascent and returns its best point. Stops once
  // the bound reaches `need`.
  // A configuration that can hold a class's layers: its cost and GPUs per layer.
  struct Option {
    double cost;
    int config, k;
  };
  // Per class, the options at (C, tau); false when some class has none.
  bool Options(double C, double tau, std::vector<std::vector<Option>>* opts) const {
    opts->assign(classes_.size(), {});
    for (size_t i = 0; i < classes_.size(); ++i) {
      for (size_t c = 0; c < configs_.size(); ++c) {
        const Config& x = configs_[c];
        if (!x.class_fits[i] || x.class_tail[i] > tau || x.class_fb[i] + x.cycle_p2p > C) continue;
        const int k = x.Layers(C, tau);
        if (k < 1) continue;
        (*opts)[i].push_back({x.class_fb[i] + x.fill_p2p / k, static_cast<int>(c), k});
      }
      if ((*opts)[i].empty()) return false;  // no stage can hold these layers
    }
    return true;
  }

  // Per pool, the one-pool configuration of the smallest priced cost (cost + lambda x GPUs per
  // layer) for the most numerous class of layers at (C, tau); -1 where none.
  std::vector<int> PoolConfigs(double C, double tau, const std::vector<double>& lambda) const {
    std::vector<int> out(pools_, -1);
    std::vector<std::vector<Option>> opts;
    if (classes_.empty() || !Options(C, tau, &opts)) return out;
    size_t big = 0;
    for (size_t i = 1; i < classes_.size(); ++i)
      if (classes_[i].count > classes_[big].count) big = i;
    std::vector<double> low(pools_, kInf);
    for (const Option& o : opts[big]) {
      const auto& gpus = configs_[o.config].gpus;
      if (gpus.size() != 1) continue;
      const auto [p, g] = gpus[0];
      const double r = o.cost + lambda[p] * g / o.k;
      if (r < low[p]) low[p] = r, out[p] = o.config;
    }
    return out;
  }

  double Fill(double C, double tau, double need, std::vector<double>* lambda) {
    std::vector<std::vector<Option>> opts;
    if (!Options(C, tau, &opts)) return kInf;
    std::vector<double> lam = *lambda, best_lam = lam, grad(pools_);
    double best = -kInf, delta = 0;
    int stale = 0;
    for (int it = 0; it < 60; ++it) {
      // Dual value at lam and a subgradient.
      double v = 0;
      for (int p = 0; p < pools_; ++p) {
        v -= lam[p] * counts_[p];
        grad[p] = -counts_[p];
      }
      for (size_t i = 0; i < classes_.size(); ++i) {
        const Option* arg = nullptr;
        double low = kInf;
        for (const Option& o : opts[i]) {
          double r = o.cost;
          for (const auto& [p, g] : configs_[o.config].gpus) r += lam[p] * g / o.k;
          if (r < low) low = r, arg = &o;
        }
        v += classes_[i].count * low;
        for (const auto& [p, g] : configs_[arg->config].gpus)
          grad[p] += classes_[i].count * g / arg->k;
      }
      ++programs_;
      if (v > best) {
        best = v, best_lam = lam, stale = 0;
      } else if (++stale >= 4) {
        delta *= 0.5, stale = 0;
      }
      if (best >= need) break;
      double norm2 = 0;
      for (int p = 0; p < pools_; ++p) {
        if (lam[p] <= 0 && grad[p] < 0) grad[p] = 0;
        norm2 += grad[p] * grad[p];
      }
      if (norm2 <= 0) break;  // no pool over its count: the relaxation's optimum
      if (delta <= 0) delta = 0.1 * std::max(std::abs(best), 1e-6);
      const double step = (std::min(need, best + delta) - v) / norm2;
      for (int p = 0; p < pools_; ++p) lam[p] = std::max(0.0, lam[p] + step * grad[p]);
    }
    *lambda = best_lam;
    return best;
  }

  long long programs() const { return programs_; }

 private:
  int pools_ = 0;
  std::vector<int> counts_;
  std::vector<Config> configs_;
  std::vector<LayerClass> classes_;
  long long programs_ = 0;
};

struct Box {
  double c0, c1, t0, t1, lb;
  std::vector<double> lambda;
  bool operator>(const Box& o) const { return lb > o.lb; }
};

}  // namespace

TimeBound PlanTimeLowerBound(const PlanContext& ctx, const SpaceForBatch& sp,
                             const ModelPrefix& pre, double stop_at,
                             std::chrono::steady_clock::time_point deadline) {
  const int L = static_cast<int>(ctx.model->layers.size());
  const double M1 = sp.num_micro - 1;
  std::vector<int> counts;
  for (const auto& p : ctx.cluster->pools) counts.push_back(p.count);
  const double c_lo = std::max(sp.CycleBound(L, counts), sp.full_cycle_bound);
  TimeBound out;
  out.seconds = sp.lb_sum[L] + M1 * c_lo;
  if (sp.configs.empty() || !(out.seconds < stop_at) || stop_at == kInf) return out;
  Relaxation rx(ctx, sp, pre);
  // Cycles above c_hi or tails above t_hi make a plan slower than stop_at.
  const double c_hi = M1 > 0 ? (stop_at - sp.lb_sum[L]) / M1 : kInf;
  const double t_hi = stop_at - out.seconds;
  auto value = [&](double c0, double t0) { return (M1 > 0 ? M1 * c0 : 0) + t0; };
  auto bound = [&](double c0, double c1, double t0, double t1, double parent,
                   std::vector<double> lambda) {
    const double need = stop_at - value(c0, t0);
    const double fill = rx.Fill(c1, t1, need, &lambda);
    return Box{c0, c1, t0, t1, std::max(parent, value(c0, t0) + fill), std::move(lambda)};
  };
  std::priority_queue<Box, std::vector<Box>, std::greater<Box>> open;
  open.push(
      bound(M1 > 0 ? c_lo : kInf, c_hi, 0, t_hi, out.seconds, std::vector<double>(rx.pools(), 0)));
  const double fine = 2e-3 * stop_at;  // a box this narrow is not split
  double result = stop_at;             // every plan outside the boxes is slower
  while (!open.empty()) {
    Box b = open.top();
    open.pop();
    const double cw = M1 > 0 ? M1 * (b.c1 - b.c0) : 0, tw = b.t1 - b.t0;
    if (b.lb >= stop_at || cw + tw <= fine || rx.programs() > 200000 ||
        std::chrono::steady_clock::now() > deadline) {
      out.exhausted = b.lb < stop_at && cw + tw > fine;
      result = std::min(result, b.lb);  // the smallest box bound: no box holds a faster plan
      if (b.lb < stop_at) {
        out.cycle = b.c1;
        out.tail = b.t1;
        out.pool_config = rx.PoolConfigs(b.c1, b.t1, b.lambda);
      }
      break;
    }
    if (cw >= tw) {
      const double mid = 0.5 * (b.c0 + b.c1);
      open.push(bound(b.c0, mid, b.t0, b.t1, b.lb, b.lambda));
      open.push(bound(mid, b.c1, b.t0, b.t1, b.lb, b.lambda));
    } else {
      const double mid = 0.5 * (b.t0 + b.t1);
      open.push(bound(b.c0, b.c1, b.t0, mid, b.lb, b.lambda));
      open.push(bound(b.c0, b.c1, mid, b.t1, b.lb, b.lambda));
    }
  }
  out.programs = rx.programs();
  out.seconds = std::max(out.seconds, result);
  return out;
}

}  // namespace opal::plan
