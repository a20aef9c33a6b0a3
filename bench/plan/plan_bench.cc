// Planner speed: a GPT-3-175B job (96 layers) over 6 GPU types of the shipped catalog with 64,
// 256 and 1,024 GPUs available; prints the median time of SearchPlan (throughput goal) over
// repeats, and the time of the full report (homogeneous baselines + Pareto front).
//   plan_bench [repeats=3] [time limit s=2, 0 = none] [gpu counts...]
// Under each row, the last search's best plan split into the schedule's terms (fill, transfers,
// steady state, tail) beside the stated bound; OPAL_PLAN_STAGES=1 lists its stages too, and
// OPAL_LOG=debug the search's phases and, per micro-batch size, the relaxation's cheapest box;
// OPAL_PLAN_THREADS=N runs the searches on N threads (default: every hardware thread).
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>

#include "opal/log.h"
#include "opal/plan_report.h"

using namespace opal::plan;

int main(int argc, char** argv) {
  opal::log::InitFromEnv();
  int repeats = argc > 1 ? std::max(1, std::atoi(argv[1])) : 3;
  double limit = argc > 2 ? std::atof(argv[2]) : 2.0;
  const char* threads_env = std::getenv("OPAL_PLAN_THREADS");
  const int threads = threads_env ? std::atoi(threads_env) : 0;
  std::vector<int> totals;
  for (int i = 3; i < argc; ++i) totals.push_back(std::atoi(argv[i]));
  if (totals.empty()) totals = {64, 256, 1024};
  auto catalog = LoadCatalog(DefaultCatalogDir() + "/gpus.json");
  auto roof = RooflineSource::Load(DefaultCatalogDir() + "/efficiency.json");
  if (!catalog.ok() || !roof.ok()) {
    fmt::print(stderr, "{}\n",
               !catalog.ok() ? catalog.status().message() : roof.status().message());
    return 1;
  }
  TransformerConfig cfg;
  cfg.name = "GPT-3-175B";
  cfg.layers = 96;
  cfg.hidden = 12288;
  cfg.heads = 96;
  cfg.seq_len = 2048;
  cfg.vocab = 50257;
  cfg.global_batch = 1536;
  cfg.tokens = 300e9;
  cfg.recompute = true;  // as Megatron trains GPT-3: without it activations do not fit
  auto model = ModelFromTransformer(cfg);
  // Share of each GPU type in the available pool (sums to 1).
  const std::vector<std::pair<std::string, double>> mix = {{"H100-80", 0.25}, {"A100-80", 0.25},
                                                           {"A100-40", 0.25}, {"V100-16", 0.0625},
                                                           {"L4", 0.125},     {"T4", 0.0625}};
  fmt::print("{:>6}  {:>9} {:>9} {:>9}  {:>10} {:>10}  {:>10}  {}\n", "GPUs", "min s", "median s",
             "max s", "nodes", "report s", "s/iter", "best plan");
  for (int total : totals) {
    opal::Json j{{"available", opal::Json::array()}};
    for (const auto& [g, share] : mix)
      j["available"].push_back(
          {{"gpu", g}, {"count", std::max(1, static_cast<int>(total * share))}});
    Catalog cat = *catalog;
    auto cluster = ClusterFromJson(j, &cat, "bench");
    if (!cluster.ok()) {
      fmt::print(stderr, "{}\n", cluster.status().message());
      return 1;
    }
    PlanContext ctx{&*model, &*cluster, roof->get(), {}};
    std::vector<double> times;
    SearchResult last;
    for (int r = 0; r < repeats; ++r) {
      auto t0 = std::chrono::steady_clock::now();
      SearchOptions so;
      so.time_limit_s = limit;
      so.threads = threads;
      auto res = SearchPlan(ctx, Goal{}, so);
      times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      if (!res.ok()) {
        fmt::print(stderr, "{}\n", res.status().message());
        return 1;
      }
      last = *res;
    }
    std::sort(times.begin(), times.end());
    auto t0 = std::chrono::steady_clock::now();
    SearchOptions so;
    so.time_limit_s = limit;
    so.threads = threads;
    auto rep = MakePlanReport(ctx, Goal{}, so);
    double report_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::string shape = "no plan fits";
    if (last.found) {
      shape.clear();
      std::map<std::string, std::pair<int, int>> per_type;  // GPUs, stages
      for (const auto& st : last.best.stages) {
        auto& e = per_type[cluster->pools[st.pool].gpu.name];
        e.first += st.Gpus();
        e.second += 1;
      }
      for (const auto& [g, e] : per_type)
        shape +=
            fmt::format("{}{} x{} in {} stages", shape.empty() ? "" : ", ", g, e.first, e.second);
      shape += fmt::format(" ({} stages, b={}){}", last.best.stages.size(), last.best.micro_batch,
                           last.stats.complete
                               ? " optimal"
                               : fmt::format(" time limit; within {:.2f}x of the optimum",
                                             last.objective / last.stats.lower_bound));
    }
    fmt::print("{:>6}  {:>9.3f} {:>9.3f} {:>9.3f}  {:>10} {:>10.3f}  {:>10.2f}  {}\n", total,
               times.front(), times[times.size() / 2], times.back(), last.stats.nodes,
               rep.ok() ? report_s : -1.0, last.found ? last.best.iter_time : 0.0, shape);
    if (rep.ok() && rep->best.found)
      fmt::print("        report: best plan {:.2f} s/iteration, {}\n", rep->best.best.iter_time,
                 rep->best.stats.complete
                     ? std::string("optimal")
                     : fmt::format("within {:.3f}x of the optimum",
                                   rep->best.objective / rep->best.stats.lower_bound));
    if (last.found) {
      const PipelineTerms& t = last.best.terms;
      fmt::print(
          "        terms: fill {:.3f} + p2p {:.3f} + steady {:.3f} ({} x {:.5f}) + tail {:.3f}; "
          "bound {:.3f}\n",
          t.fill_layers, t.fill_p2p, t.steady, last.best.num_micro - 1,
          t.steady / std::max(1, last.best.num_micro - 1), t.tail, last.stats.lower_bound);
      if (std::getenv("OPAL_PLAN_STAGES"))
        for (const auto& st : last.best.stages)
          fmt::print(
              "        [{},{}) {} tp{} dp{}{} fb {:.4f} p2p {:.4f} ar {:.3f} upd {:.3f} mem "
              "{:.1f}\n",
              st.first, st.end, cluster->pools[st.pool].gpu.name, st.tp, st.dp,
              st.mixed.empty() ? "" : " mixed", st.fwd + st.bwd, st.p2p_out, st.allreduce,
              st.update, st.memory / 1e9);
    }
  }
  return 0;
}
