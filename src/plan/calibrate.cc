// Fitting the roofline's efficiency factors to measured data (DeepBench, Sailor profiles).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "opal/plan_perf.h"

namespace opal::plan {
namespace {

double Predict(const CalibrationSample& s, double mm, double mem, double ovh, double peak,
               double bw) {
  return s.flops / (peak * mm) + s.bytes / (bw * mem) + ovh;
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

std::vector<double> LogGrid(double lo, double hi, int n) {
  std::vector<double> g;
  for (int i = 0; i < n; ++i) g.push_back(lo * std::pow(hi / lo, static_cast<double>(i) / (n - 1)));
  return g;
}

Json EffJson(const Efficiency& e) {
  return Json{{"matmul", e.matmul},
              {"memory", e.memory},
              {"update", e.update},
              {"overhead_s", e.overhead},
              {"fitted_on", e.fitted_on}};
}

// DeepBench names its GPUs without memory sizes.
std::string CatalogName(const std::string& deepbench_gpu) {
  if (deepbench_gpu == "V100") return "V100-16";
  return deepbench_gpu;
}

}  // namespace

CalibrationResult FitEfficiency(const std::vector<CalibrationSample>& samples, double peak,
                                double bw) {
  OPAL_CHECK(!samples.empty(), "no calibration samples");
  CalibrationResult best;
  double best_loss = 1e300;
  std::vector<double> ovh{0};
  for (double o : LogGrid(1e-6, 2e-3, 24)) ovh.push_back(o);
  for (double mm : LogGrid(0.02, 1.0, 60)) {
    for (double mem : LogGrid(0.02, 1.0, 30)) {
      for (double o : ovh) {
        double loss = 0;
        for (const auto& s : samples) {
          double r = std::log(Predict(s, mm, mem, o, peak, bw) / s.measured);
          loss += r * r;
        }
        if (loss < best_loss) {
          best_loss = loss;
          best.eff.matmul = mm;
          best.eff.memory = mem;
          best.eff.overhead = o;
        }
      }
    }
  }
  best.samples = static_cast<int>(samples.size());
  best.mape = RooflineMape(samples, best.eff, peak, bw);
  return best;
}

double RooflineMape(const std::vector<CalibrationSample>& samples, const Efficiency& e, double peak,
                    double bw) {
  double sum = 0;
  for (const auto& s : samples)
    sum +=
        std::fabs(Predict(s, e.matmul, e.memory, e.overhead, peak, bw) - s.measured) / s.measured;
  return samples.empty() ? 0 : sum / static_cast<double>(samples.size());
}

Result<std::map<std::string, std::vector<CalibrationSample>>> ReadDeepBenchGemm(
    const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error(ErrorCode::kNotFound, "cannot read DeepBench GEMM file '{}'", path);
  std::string line;
  std::getline(in, line);
  if (line.rfind("gpu,precision,M,N,K", 0) != 0)
    return Error(ErrorCode::kInvalidModel,
                 "{}: expected the header gpu,precision,M,N,K,a_trans,b_trans,time_ms", path);
  std::map<std::string, std::vector<CalibrationSample>> out;
  int row = 1;
  while (std::getline(in, line)) {
    ++row;
    if (line.empty()) continue;
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string x; std::getline(ss, x, ',');) f.push_back(x);
    if (f.size() != 8)
      return Error(ErrorCode::kInvalidModel, "{}:{}: expected 8 fields", path, row);
    double m = std::atof(f[2].c_str()), n = std::atof(f[3].c_str()), k = std::atof(f[4].c_str());
    double ms = std::atof(f[7].c_str());
    if (m <= 0 || n <= 0 || k <= 0 || ms <= 0)
      return Error(ErrorCode::kInvalidModel, "{}:{}: sizes and time must be > 0", path, row);
    double p = f[1] == "fp16" ? 2 : 4;
    out[CatalogName(f[0]) + "/" + f[1]].push_back(
        {2 * m * n * k, p * (m * k + k * n + m * n), ms / 1e3});
  }
  return out;
}

std::vector<CalibrationSample> ProfileSamples(const ModelSpec& model, const ProfileSource& profile,
                                              const std::string& gpu) {
  std::vector<CalibrationSample> v;
  const auto* table = profile.Table(gpu, 1);
  if (!table) return v;
  for (const auto& [mbs, layers] : *table) {
    for (size_t i = 0; i < layers.size() && i < model.layers.size(); ++i) {
      const LayerSpec& l = model.layers[i];
      // Transformer blocks only: profiles disagree on what the first and last layers hold
      // (Sailor's GPT-Neo profile keeps the LM head out of its last layer).
      if (l.matmul_flops <= 0 || l.name.rfind("block", 0) != 0) continue;
      v.push_back({l.matmul_flops * mbs, l.other_bytes * mbs, layers[i].fwd});
      v.push_back({2 * l.matmul_flops * mbs, 2 * l.other_bytes * mbs, layers[i].bwd});
    }
  }
  return v;
}

Result<Json> Calibrate(const Catalog& catalog, const CalibrationInput& input) {
  Json out{{"about",
            "Roofline efficiency factors fitted by `opal plan --calibrate` (see docs/planner.md)."},
           {"gpus", Json::object()},
           {"fits", Json::array()}};
  std::vector<double> mm, mem, upd, ovh;
  std::map<std::string, bool> from_profile;
  // Per GPU: the samples of each model, and the optimizer-step efficiencies seen.
  struct PerGpu {
    std::vector<std::pair<std::string, std::vector<CalibrationSample>>> by_model;
    std::vector<double> update;
    double peak = 0;
  };
  std::map<std::string, PerGpu> per_gpu;
  for (const auto& [model, prof] : input.profiles) {
    for (const std::string& gpu : prof->Gpus()) {
      const GpuType* g = catalog.FindGpu(gpu);
      auto samples = g ? ProfileSamples(*model, *prof, gpu) : std::vector<CalibrationSample>{};
      if (samples.empty()) continue;
      PerGpu& pg = per_gpu[gpu];
      pg.peak = g->MatmulPeak(model->dtype_bytes);
      pg.by_model.push_back({model->name, std::move(samples)});
      // The profile's update figures are each layer's share of the model's optimizer step: their
      // sum is the step of all the model's parameters (read and written once).
      for (const auto& [mbs, layers] : *prof->Table(gpu, 1)) {
        double step = 0;
        for (const auto& l : layers) step += l.update;
        if (step > 0)
          pg.update.push_back(2 * model->state_bytes_per_param * model->TotalParams() /
                              (g->mem_bw * step));
      }
    }
  }
  for (auto& [gpu, pg] : per_gpu) {
    const GpuType* g = catalog.FindGpu(gpu);
    std::vector<CalibrationSample> all;
    std::string names;
    for (const auto& [name, v] : pg.by_model) {
      all.insert(all.end(), v.begin(), v.end());
      names += (names.empty() ? "" : "+") + name;
    }
    // Held-out check: fitted on the first model only, scored on each other model.
    if (pg.by_model.size() > 1) {
      CalibrationResult first = FitEfficiency(pg.by_model[0].second, pg.peak, g->mem_bw);
      for (size_t i = 1; i < pg.by_model.size(); ++i)
        out["fits"].push_back({{"gpu", gpu},
                               {"data", "profile " + pg.by_model[i].first},
                               {"fitted_on", pg.by_model[0].first},
                               {"samples", pg.by_model[i].second.size()},
                               {"transfer_mape", RooflineMape(pg.by_model[i].second, first.eff,
                                                              pg.peak, g->mem_bw)}});
    }
    CalibrationResult r = FitEfficiency(all, pg.peak, g->mem_bw);
    r.eff.update =
        pg.update.empty() ? 0 : std::clamp(Median(pg.update), 1e-4, 1.0);  // 0: none measured
    r.eff.fitted_on =
        fmt::format("profile {} ({} block passes, MAPE {:.1f}%)", names, r.samples, 100 * r.mape);
    out["gpus"][gpu] = EffJson(r.eff);
    out["fits"].push_back(
        {{"gpu", gpu}, {"data", "profile " + names}, {"samples", r.samples}, {"mape", r.mape}});
    from_profile[gpu] = true;
    mm.push_back(r.eff.matmul);
    mem.push_back(r.eff.memory);
    if (r.eff.update > 0) upd.push_back(r.eff.update);
    ovh.push_back(r.eff.overhead);
  }
  Efficiency dflt;
  if (!mm.empty()) {
    dflt = {Median(mm), Median(mem), upd.empty() ? dflt.update : Median(upd), Median(ovh),
            fmt::format("median of {} profile fits", mm.size())};
  }
  // GPUs whose profiles have no optimizer times (Sailor's A100-80 files hold zeros) take the
  // default's update factor.
  for (auto& [gpu, e] : out["gpus"].items())
    if (e["update"].get<double>() <= 0) e["update"] = dflt.update;
  if (!input.deepbench_gemm_csv.empty()) {
    OPAL_ASSIGN_OR_RETURN(auto groups, ReadDeepBenchGemm(input.deepbench_gemm_csv));
    for (const auto& [key, samples] : groups) {
      std::string gpu = key.substr(0, key.find('/')), prec = key.substr(key.find('/') + 1);
      const GpuType* g = catalog.FindGpu(gpu);
      if (!g) continue;
      double peak = prec == "fp16" ? g->tensor_flops : g->fp32_flops;
      CalibrationResult r = FitEfficiency(samples, peak, g->mem_bw);
      out["fits"].push_back({{"gpu", gpu},
                             {"data", "deepbench gemm " + prec},
                             {"samples", r.samples},
                             {"mape", r.mape},
                             {"matmul", r.eff.matmul},
                             {"memory", r.eff.memory},
                             {"overhead_s", r.eff.overhead}});
      if (from_profile[gpu] || prec != "fp16") continue;
      Efficiency e = dflt;
      e.matmul = r.eff.matmul;
      e.fitted_on =
          fmt::format("deepbench gemm fp16 ({} GEMMs, MAPE {:.1f}%), other factors default",
                      r.samples, 100 * r.mape);
      out["gpus"][gpu] = EffJson(e);
    }
  }
  out["default"] = EffJson(dflt);
  return out;
}

}  // namespace opal::plan
