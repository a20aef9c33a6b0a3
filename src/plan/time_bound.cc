// The search's lower bound on the iteration time (see time_bound.h).
#include "plan/time_bound.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <queue>

#include "opal/log.h"
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
  int big_mem = 0;       // layers of the most numerous class a stage holds at most as memory goes
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
    const LayerFigures all_figs(m, all);
    for (const auto& c : sp.configs) {
      Config x;
      const auto at = GroupsAt(ctx, c);
      // Seconds per gradient byte at the links' peaks: the all-reduce of a stage is at least its
      // layers' sum of this times their gradient bytes.
      const double ar = GradAllReduceSeconds(at, 1.0, ctx.options.hierarchical_allreduce, true);
      // A stage's forward+backward is at least any one group's sum over its layers, and its
      // optimizer step any one group's: the figures are those of one group throughout, the one
      // slowest over the whole model (a stage of two pools runs at its slower one's pace; the
      // per-layer fastest group would bound it too, but loosely).
      const GroupTimes* slow_fb = &c.times[0];
      const GroupTimes* slow_upd = &c.times[0];
      for (const auto& t : c.times) {
        if (t.fwd[L] + t.bwd[L] > slow_fb->fwd[L] + slow_fb->bwd[L]) slow_fb = &t;
        if (t.upd[L] > slow_upd->upd[L]) slow_upd = &t;
      }
      for (int l = 0; l < L; ++l) {
        const GroupTimes& t = *slow_fb;
        const double fb = t.fwd[l + 1] - t.fwd[l] + t.bwd[l + 1] - t.bwd[l];
        const double upd = slow_upd->upd[l + 1] - slow_upd->upd[l];
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
      x.k_mem = MemoryLayers(ctx, c, all_figs);
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
    big_ = 0;
    for (size_t i = 1; i < classes_.size(); ++i)
      if (classes_[i].count > classes_[big_].count) big_ = i;
    std::vector<int> big_members;
    for (int l = 0; l < L; ++l)
      if (class_of[l] == static_cast<int>(big_)) big_members.push_back(l);
    const LayerFigures big_figs(m, big_members);
    for (size_t c = 0; c < configs_.size(); ++c)
      configs_[c].big_mem = MemoryLayers(ctx, sp.configs[c], big_figs);
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
  // A configuration that can hold a class's layers: its cost and stages per layer (`w`: a plan
  // has at least sum over its layers on the configuration of w stages of it).
  struct Option {
    double cost;
    int config;
    double w;
  };

  // Stages of configuration x per layer of each class at (C, tau) (StageCharges).
  std::vector<double> Charges(const Config& x, double C, double tau) const {
    std::vector<ClassFigures> figs;
    for (size_t i = 0; i < classes_.size(); ++i)
      figs.push_back({classes_[i].count, x.class_fb[i], x.class_tail[i]});
    return StageCharges(figs, static_cast<int>(big_), x.Layers(C, tau), x.big_mem, x.cycle_p2p, C,
                        tau);
  }

  // Per class, the options at (C, tau); false when some class has none.
  bool Options(double C, double tau, std::vector<std::vector<Option>>* opts) const {
    opts->assign(classes_.size(), {});
    std::vector<std::vector<double>> charges(configs_.size());
    for (size_t c = 0; c < configs_.size(); ++c) charges[c] = Charges(configs_[c], C, tau);
    for (size_t i = 0; i < classes_.size(); ++i) {
      for (size_t c = 0; c < configs_.size(); ++c) {
        const Config& x = configs_[c];
        if (!x.class_fits[i] || x.class_tail[i] > tau || x.class_fb[i] + x.cycle_p2p > C) continue;
        // No stage of x holds a layer at (C, tau).
        if (x.Layers(C, tau) < 1) continue;
        const double w = charges[c][i];
        (*opts)[i].push_back({x.class_fb[i] + x.fill_p2p * w, static_cast<int>(c), w});
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
    std::vector<double> low(pools_, kInf);
    for (const Option& o : opts[big_]) {
      const auto& gpus = configs_[o.config].gpus;
      if (gpus.size() != 1) continue;
      const auto [p, g] = gpus[0];
      const double r = o.cost + lambda[p] * g * o.w;
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
        double low = kInf;
        const Option* arg = Cheapest(opts[i], lam, &low);
        v += classes_[i].count * low;
        for (const auto& [p, g] : configs_[arg->config].gpus)
          grad[p] += classes_[i].count * g * arg->w;
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

  // The option of a class whose cost plus its GPUs priced at `lam` is lowest; that price in *low.
  const Option* Cheapest(const std::vector<Option>& options, const std::vector<double>& lam, double* low) const {
    const Option* arg = nullptr;
    for (const Option& o : options) {
      double r = o.cost;
      for (const auto& [p, g] : configs_[o.config].gpus) r += lam[p] * g * o.w;
      if (r < *low) *low = r, arg = &o;
    }
    return arg;
  }

  // Debug: the Lagrangian's choice per class at (C, tau, lambda).
  void Describe(const SpaceForBatch& sp, const PlanContext& ctx, double C, double tau,
                const std::vector<double>& lam) const {
    std::vector<std::vector<Option>> opts;
    if (!Options(C, tau, &opts)) return;
    for (size_t i = 0; i < classes_.size(); ++i) {
      double low = kInf;
      const Option* arg = Cheapest(opts[i], lam, &low);
      const auto& g = sp.configs[arg->config].groups[0];
      log::Debug(
          "  class {} x{}: {} tp{} dp{} groups {} w={:.4f} cost={:.4f} fb={:.4f} tail={:.4f} "
          "gpus/layer={:.2f}",
          classes_[i].layer, classes_[i].count, ctx.cluster->pools[g.pool].gpu.name, g.tp, g.count,
          sp.configs[arg->config].groups.size(), arg->w, arg->cost,
          configs_[arg->config].class_fb[i], configs_[arg->config].class_tail[i],
          1.0 * sp.configs[arg->config].gpus * arg->w);
    }
    std::string l;
    for (double x : lam) l += fmt::format(" {:.3g}", x);
    log::Debug("  lambda{}", l);
  }

 private:
  int pools_ = 0;
  std::vector<int> counts_;
  std::vector<Config> configs_;
  std::vector<LayerClass> classes_;
  size_t big_ = 0;  // the most numerous class
  long long programs_ = 0;
};

struct Box {
  double c0, c1, t0, t1, lb;
  std::vector<double> lambda;
  bool operator>(const Box& o) const { return lb > o.lb; }
};

}  // namespace

std::vector<double> StageCharges(const std::vector<ClassFigures>& classes, int big, int k_all,
                                 int k_big_mem, double cycle_p2p, double C, double tau) {
  const size_t n = classes.size();
  std::vector<double> best(n, 0), w(n, 0);
  double best_total = 0;
  auto consider = [&] {
    double total = 0;
    for (size_t i = 0; i < n; ++i) total += classes[i].count * w[i];
    if (total > best_total) best_total = total, best = w;
  };
  if (k_all >= 1) {
    std::fill(w.begin(), w.end(), 1.0 / k_all);
    consider();
  }
  if (big >= 0 && big < static_cast<int>(n)) {
    const double fb = classes[big].fb, tl = classes[big].tail;
    // Rounded generously: a k_big too large only weakens the bound.
    double kb = k_big_mem;
    if (C < kInf && fb > 0) kb = std::min(kb, std::floor((C - cycle_p2p) / fb * (1 + 1e-9)));
    if (tl > 0) kb = std::min(kb, std::floor(tau / tl * (1 + 1e-9)));
    if (kb >= 1) {
      std::fill(w.begin(), w.end(), 0.0);
      w[big] = 1.0 / kb;
      consider();
    }
  }
  if (C < kInf && C > cycle_p2p) {
    for (size_t i = 0; i < n; ++i) w[i] = classes[i].fb / (C - cycle_p2p);
    consider();
  }
  return best;
}

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
      log::Debug(
          "bound b={} M={} lb={:.3f} c0={:.5f} c1={:.5f} t0={:.4f} t1={:.4f} c_lo={:.5f} "
          "lb_sum={:.3f} fill={:.3f}",
          sp.micro_batch, sp.num_micro, b.lb, b.c0, b.c1, b.t0, b.t1, c_lo, sp.lb_sum[L],
          b.lb - value(b.c0, b.t0));
      if (log::GetLevel() <= log::Level::kDebug) rx.Describe(sp, ctx, b.c1, b.t1, b.lambda);
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
