// The GPU operator model on DeepBench, leave one GPU type out: every GEMM and every convolution
// pass (forward, backward data, backward filter; the backward passes have no workload kind, so
// they are read from the CSV files here rather than from a store) of each GPU predicted by a
// model fitted on the other GPUs' measurements. Beside the model: the analytic part alone and a
// peak-ratio baseline (the op's time on the other GPUs scaled by the ratio of matrix-product
// peaks, geometric mean over them).
//
//   gpu_ops_bench [DEEPBENCH_DIR] [--json]     (default ../shared/data/deepbench)
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <set>

#include "opal/plan_catalog.h"
#include "opal/plan_gpu_ops.h"

using namespace opal;
using namespace opal::plan;

namespace {

struct Acc {
  double model = 0, analytic = 0, baseline = 0;
  int64_t n = 0, n_baseline = 0;
};

}  // namespace

int main(int argc, char** argv) {
  std::string dir = std::string(OPAL_SOURCE_DIR) + "/../shared/data/deepbench";
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--json") == 0)
      json = true;
    else
      dir = argv[i];
  }
  const std::string cat = std::string(OPAL_SOURCE_DIR) + "/data/catalog";
  auto catalog = LoadCatalog(cat + "/gpus.json");
  auto aliases = LoadGpuAliases(cat + "/targets.json");
  auto data = ReadDeepBench({dir});
  if (!catalog.ok() || !aliases.ok() || !data.ok()) {
    fmt::print(stderr, "gpu_ops_bench: {}\n",
               !catalog.ok()   ? catalog.status().message()
               : !aliases.ok() ? aliases.status().message()
                               : data.status().message());
    return 1;
  }
  auto samples = DeepBenchGpuOpSamples(*data, *catalog, *aliases);
  if (!samples.ok()) {
    fmt::print(stderr, "gpu_ops_bench: {}\n", samples.status().message());
    return 1;
  }
  const auto specs = GpuSpecs(*catalog);
  std::set<std::string> gpus;
  for (const auto& s : *samples) gpus.insert(s.gpu);
  // (gpu, dtype, pass) -> errors
  std::map<std::tuple<std::string, std::string, std::string>, Acc> acc;
  double fit_seconds = 0;
  for (const auto& held : gpus) {
    std::vector<GpuOpSample> train;
    std::map<std::string, std::vector<const GpuOpSample*>> by_key;
    for (const auto& s : *samples) {
      if (s.gpu == held) continue;
      train.push_back(s);
    }
    for (const auto& s : train) by_key[s.op.Key()].push_back(&s);
    const auto t0 = std::chrono::steady_clock::now();
    auto model = GpuOpModel::Fit(train, specs);
    fit_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!model.ok()) {
      fmt::print(stderr, "gpu_ops_bench: {}\n", model.status().message());
      return 1;
    }
    const GpuSpec& g = specs.at(held);
    for (const auto& s : *samples) {
      if (s.gpu != held) continue;
      Acc& a = acc[{held, s.op.dtype, GpuOpPassName(s.op.pass)}];
      a.model += std::fabs(model->Predict(s.op, g) - s.seconds) / s.seconds;
      a.analytic += std::fabs(model->Analytic(s.op, g) - s.seconds) / s.seconds;
      ++a.n;
      auto it = by_key.find(s.op.Key());
      if (it == by_key.end()) continue;
      double log_sum = 0;
      for (const GpuOpSample* o : it->second)
        log_sum += std::log(o->seconds * specs.at(o->gpu).MatmulPeak(s.op.dtype) /
                            g.MatmulPeak(s.op.dtype));
      const double base = std::exp(log_sum / static_cast<double>(it->second.size()));
      a.baseline += std::fabs(base - s.seconds) / s.seconds;
      ++a.n_baseline;
    }
  }
  Json out{{"deepbench", dir},
           {"rows", Json::array()},
           {"per_pass", Json::object()},
           {"fit_seconds", fit_seconds}};
  std::map<std::string, Acc> per_pass;
  if (!json)
    fmt::print(
        "GPU operator model on DeepBench, leave one GPU type out (MAPE)\n"
        "{:<12} {:<8} {:<16} {:>5} {:>8} {:>9} {:>10}\n",
        "gpu", "dtype", "pass", "ops", "model", "analytic", "peak ratio");
  for (const auto& [key, a] : acc) {
    const auto& [gpu, dtype, pass] = key;
    const double base = a.n_baseline ? 100 * a.baseline / a.n_baseline : NAN;
    out["rows"].push_back({{"gpu", gpu},
                           {"dtype", dtype},
                           {"pass", pass},
                           {"ops", a.n},
                           {"model_mape", 100 * a.model / a.n},
                           {"analytic_mape", 100 * a.analytic / a.n},
                           {"peak_ratio_mape", base},
                           {"peak_ratio_ops", a.n_baseline}});
    if (!json)
      fmt::print("{:<12} {:<8} {:<16} {:>5} {:>7.1f}% {:>8.1f}% {:>9.1f}%\n", gpu, dtype, pass, a.n,
                 100 * a.model / a.n, 100 * a.analytic / a.n, base);
    Acc& p = per_pass[pass];
    p.model += a.model;
    p.analytic += a.analytic;
    p.baseline += a.baseline;
    p.n += a.n;
    p.n_baseline += a.n_baseline;
  }
  for (const auto& [pass, p] : per_pass) {
    out["per_pass"][pass] = {
        {"ops", p.n},
        {"model_mape", 100 * p.model / p.n},
        {"analytic_mape", 100 * p.analytic / p.n},
        {"peak_ratio_mape", 100 * p.baseline / std::max<int64_t>(1, p.n_baseline)}};
    if (!json)
      fmt::print("{:<12} {:<8} {:<16} {:>5} {:>7.1f}% {:>8.1f}% {:>9.1f}%\n", "all GPUs", "all",
                 pass, p.n, 100 * p.model / p.n, 100 * p.analytic / p.n,
                 100 * p.baseline / std::max<int64_t>(1, p.n_baseline));
  }
  if (json)
    fmt::print("{}\n", out.dump(2));
  else
    fmt::print("fitting: {:.1f} s for {} models\n", fit_seconds, gpus.size());
  return 0;
}
