// Replay reports: text and JSON, and the leave-one-out memory check (plan_replay.h).
#include <fmt/format.h>

#include <cmath>

#include "opal/plan_replay.h"
#include "opal/plan_report.h"

namespace opal::plan {
namespace {

double RelErr(double predicted, double measured) {
  return measured > 0 ? (predicted - measured) / measured : 0;
}

struct Totals {
  int n = 0, n_mem = 0, n_red = 0;
  double time = 0, time_est = 0, mem = 0, red = 0;
  void Add(const ReplayRow& r) {
    if (!r.error.empty()) return;
    if (r.measured > 0) {
      ++n;
      time += std::fabs(RelErr(r.simulated, r.measured));
      time_est += std::fabs(RelErr(r.estimated, r.measured));
    }
    if (r.measured_memory > 0) ++n_mem, mem += std::fabs(RelErr(r.memory, r.measured_memory));
    if (r.measured_reduce > 0) ++n_red, red += std::fabs(RelErr(r.reduce, r.measured_reduce));
  }
  std::string Line() const {
    std::string s = fmt::format("{} plans: time MAPE {:.1f}% (estimate {:.1f}%)", n,
                                100 * time / std::max(1, n), 100 * time_est / std::max(1, n));
    if (n_mem) s += fmt::format(", memory MAPE {:.1f}% ({} plans)", 100 * mem / n_mem, n_mem);
    if (n_red)
      s += fmt::format(", gradient reduction vs red_grads MAPE {:.1f}%", 100 * red / n_red);
    return s;
  }
};

}  // namespace

std::vector<MemoryObservation> MemoryObservations(const ReplaySummary& s) {
  std::vector<MemoryObservation> out;
  for (const auto& set : s.sets)
    for (const auto& r : set.rows)
      if (r.error.empty() && r.measured_memory > 0)
        out.push_back({r.path, r.memory_parts, r.measured_memory});
  return out;
}

Status AddLeaveOneOut(ReplaySummary* s, double default_reserve) {
  const std::vector<MemoryObservation> obs = MemoryObservations(*s);
  OPAL_ASSIGN_OR_RETURN(s->loo_memory, LeaveOneOutMemory(obs, default_reserve));
  double err = 0;
  for (size_t i = 0; i < obs.size(); ++i)
    err += std::fabs(RelErr(s->loo_memory[i], obs[i].measured));
  s->loo_mape_memory = obs.empty() ? 0 : err / static_cast<double>(obs.size());
  return Status::Ok();
}

std::string ReplayText(const ReplaySummary& s) {
  std::string out =
      fmt::format("{:<52} {:>8} {:>8} {:>7} {:>7} {:>7} {:>7} {:>6} {:>6}  {}\n", "plan", "real s",
                  "sim s", "error", "mem GiB", "pred", "error", "red s", "pred", "source");
  Totals all;
  size_t loo = 0;
  for (size_t d = 0; d < s.sets.size(); ++d) {
    Totals set;
    for (const auto& r : s.sets[d].rows) {
      std::string name = r.path.size() > 52 ? "..." + r.path.substr(r.path.size() - 49) : r.path;
      if (!r.error.empty()) {
        out += fmt::format("{:<52} {:>8.3f}  skipped: {}\n", name, r.measured, r.error);
        continue;
      }
      std::string mem =
          r.measured_memory > 0
              ? fmt::format("{:>7.2f} {:>7.2f} {:>+6.1f}%", r.measured_memory / (1 << 30),
                            r.memory / (1 << 30), 100 * RelErr(r.memory, r.measured_memory))
              : fmt::format("{:>7} {:>7.2f} {:>7}", "-", r.memory / (1 << 30), "");
      if (r.measured_memory > 0 && loo < s.loo_memory.size())
        mem += fmt::format(" (loo {:+.1f}%)", 100 * RelErr(s.loo_memory[loo++], r.measured_memory));
      std::string time = r.measured > 0
                             ? fmt::format("{:>8.3f} {:>8.3f} {:>+6.1f}%", r.measured, r.simulated,
                                           100 * RelErr(r.simulated, r.measured))
                             : fmt::format("{:>8} {:>8.3f} {:>7}", "-", r.simulated, "");
      out += fmt::format("{:<52} {} {} {:>6.3f} {:>6.3f}  {} {}{}\n", name, time, mem,
                         r.measured_reduce, r.reduce, r.gpu, r.source,
                         r.memory_capped ? " (memory capped at the GPU's)" : "");
      set.Add(r);
      all.Add(r);
    }
    out += fmt::format("{}: {}\n\n", s.dirs[d], set.Line());
  }
  if (s.sets.size() > 1) out += fmt::format("all: {}\n", all.Line());
  if (!s.loo_memory.empty())
    out += fmt::format(
        "leave-one-out memory MAPE {:.1f}% over {} runs (coefficients fitted on the others); the "
        "time model fits no coefficient on runs, so its leave-one-out MAPE is its MAPE\n",
        100 * s.loo_mape_memory, s.loo_memory.size());
  return out;
}

Json ReplayJson(const ReplaySummary& s) {
  Json sets = Json::array();
  size_t loo = 0;
  for (size_t d = 0; d < s.sets.size(); ++d) {
    Json rows = Json::array();
    for (const auto& r : s.sets[d].rows) {
      Json row{{"plan", r.path},
               {"measured_s", r.measured},
               {"estimated_s", r.estimated},
               {"simulated_s", r.simulated},
               {"measured_memory_bytes", r.measured_memory},
               {"memory_bytes", r.memory},
               {"memory_capped", r.memory_capped},
               {"measured_reduce_s", r.measured_reduce},
               {"reduce_s", r.reduce},
               {"gpu", r.gpu},
               {"source", r.source},
               {"error", r.error}};
      if (r.error.empty() && r.measured_memory > 0 && loo < s.loo_memory.size())
        row["loo_memory_bytes"] = s.loo_memory[loo++];
      if (r.error.empty()) {
        const PipelineTerms& t = r.terms;
        row["terms"] = {{"fill_layers_s", t.fill_layers},
                        {"fill_p2p_s", t.fill_p2p},
                        {"steady_s", t.steady},
                        {"steady_p2p_s", t.steady_p2p},
                        {"tail_s", t.tail},
                        {"bottleneck_stage", t.bottleneck}};
        Json stages = Json::array();
        for (const StagePlan& st : r.stages) stages.push_back(StageTimesJson(st));
        row["stages"] = stages;
      }
      rows.push_back(row);
    }
    const ReplayReport& rep = s.sets[d];
    sets.push_back({{"dir", s.dirs[d]},
                    {"rows", rows},
                    {"replayed", rep.replayed},
                    {"timed", rep.timed},
                    {"mape_simulated", rep.mape_simulated},
                    {"mape_estimated", rep.mape_estimated},
                    {"memory_rows", rep.memory_rows},
                    {"mape_memory", rep.mape_memory}});
  }
  Json j{{"format", "opal.replay/2"}, {"sets", sets}};
  if (!s.loo_memory.empty()) j["loo_mape_memory"] = s.loo_mape_memory;
  return j;
}

}  // namespace opal::plan
