// opal measure --workload JSON|KEY [--store DSN]... [--default] [--seeds] [--config JSON]...
//              [--rounds N] [--json]
// Re-times the best stored config of one workload from each store (and the template's default
// config with --default, every seed config with --seeds, and each config given with --config) in alternating rounds on this host,
// and prints the median GFLOP/s of each with its ratio to the first. Read-only: nothing is written to any store. Comparing searches by
// their own best trials is biased on a machine whose clock drifts (trials minutes apart) and
// toward the search that took more trials (the best of many noisy timings); re-timing the winners
// side by side removes both.
#include <fmt/format.h>

#include "commands.h"
#include "opal/tuning_framework.h"
#include "opal/tuning_search.h"

namespace opal::cli {
namespace {

struct Options {
  std::string workload;
  std::vector<std::string> stores;
  bool with_default = false;
  bool with_seeds = false;
  std::vector<std::string> configs;
  int rounds = 5;
  std::string framework = "halide";
  bool json = false;
};

struct Source {
  std::string name;
  Config config;
  double stored_gflops = 0;  // the search's own best figure (0 for the default)
  std::vector<double> gflops;
};

Status Run(const Options& o) {
  if (o.stores.empty() && !o.with_default && !o.with_seeds && o.configs.empty())
    return Error(ErrorCode::kInvalidArgument, "nothing to time: give a --store, --default, --seeds or --config");
  if (o.rounds < 1) return Error(ErrorCode::kInvalidArgument, "--rounds must be >= 1");
  OPAL_ASSIGN_OR_RETURN(auto fw, MakeTuningFramework(o.framework));
  const Target host = Target::DetectHost();
  std::vector<Source> sources;
  Workload w;
  if (o.stores.empty()) {  // the workload must be given as JSON: there is no store to look a key up in
    OPAL_ASSIGN_OR_RETURN(auto none, RecordStore::Open("memory:"));
    OPAL_ASSIGN_OR_RETURN(w, ResolveWorkload(o.workload, *none));
  }
  for (size_t i = 0; i < o.stores.size(); ++i) {
    OPAL_ASSIGN_OR_RETURN(auto store, OpenExistingStore(o.stores[i]));
    OPAL_ASSIGN_OR_RETURN(Workload wi, ResolveWorkload(o.workload, *store));
    if (i == 0) w = wi;
    OPAL_ASSIGN_OR_RETURN(auto best, BestStoredConfigs(*fw, *store, w, host, 1));
    if (best.empty()) {
      return Error(ErrorCode::kNotFound, "{} holds no valid record of {} for this host ({})",
                   RecordStore::RedactDsn(o.stores[i]), w.Key(), host.ExactKey());
    }
    sources.push_back({RecordStore::RedactDsn(o.stores[i]), best[0].config, best[0].record.gflops, {}});
  }
  if (o.with_default || o.with_seeds) {
    auto seeds = fw->SeedConfigs(w, host);
    if (seeds.empty()) return Error(ErrorCode::kUnsupported, "{} has no default config", fw->Name());
    sources.push_back({"default", seeds.front(), 0, {}});
    for (size_t i = 1; o.with_seeds && i < seeds.size(); ++i)
      sources.push_back({fmt::format("seed {}", i + 1), seeds[i], 0, {}});
  }
  OPAL_ASSIGN_OR_RETURN(ConfigSpace space, fw->Space(w, host));
  for (size_t i = 0; i < o.configs.size(); ++i) {
    auto c = space.Parse(o.configs[i]);
    if (!c.ok()) return Error(ErrorCode::kInvalidArgument, "--config {}: {}", o.configs[i], c.status().message());
    sources.push_back({fmt::format("config {}", i + 1), *c, 0, {}});
  }
  std::vector<Config> configs;
  for (const auto& s : sources) configs.push_back(s.config);
  std::vector<std::string> errors;
  const auto times = RetimeSideBySide(*fw, w, host, configs, o.rounds, &errors);
  for (size_t i = 0; i < sources.size(); ++i) {
    if (times[i].size() != static_cast<size_t>(o.rounds)) {
      return Error(ErrorCode::kFailed, "{}: its config failed on re-measure ({})", sources[i].name, errors[i]);
    }
    for (double t : times[i]) sources[i].gflops.push_back(w.Flops() / t * 1e-9);
  }
  // A source's ratio to the first: the median over rounds of the two's ratio in the same round
  // (a round times them milliseconds apart, so it shares the machine's state of the moment).
  auto ratio_to_first = [&](const Source& s) {
    std::vector<double> r;
    for (size_t k = 0; k < s.gflops.size() && k < sources[0].gflops.size(); ++k)
      r.push_back(s.gflops[k] / sources[0].gflops[k]);
    return MedianOf(r);
  };
  if (o.json) {
    Json j = {{"format", "opal.measure/1"}, {"workload", w.Key()}, {"target", host.ExactKey()},
              {"rounds", o.rounds}, {"sources", Json::array()}};
    for (const auto& s : sources) {
      j["sources"].push_back({{"source", s.name},
                              {"config", Json::parse(s.config.CanonicalJson())},
                              {"stored_gflops", s.stored_gflops},
                              {"gflops", s.gflops},
                              {"median_gflops", MedianOf(s.gflops)},
                              {"ratio_to_first", ratio_to_first(s)}});
    }
    fmt::print("{}\n", j.dump(2));
    return Status::Ok();
  }
  fmt::print("{} on {}, {} alternating rounds\n", w.Summary(), host.ExactKey(), o.rounds);
  fmt::print("{:<48} {:>12} {:>12} {:>8}\n", "source", "stored GF/s", "median GF/s", "ratio");
  for (const auto& s : sources)
    fmt::print("{:<48} {:>12.1f} {:>12.1f} {:>8.3f}\n", s.name, s.stored_gflops, MedianOf(s.gflops),
               ratio_to_first(s));
  fmt::print("(ratio: to the first source, the median of their per-round ratios)\n");
  return Status::Ok();
}

}  // namespace

void AddMeasureCommand(CLI::App& app, CommandFn* run) {
  auto o = std::make_shared<Options>();
  CLI::App* c = app.add_subcommand(
      "measure", "Re-time the best stored configs of a workload, the template's seeds or given configs, side by side");
  c->add_option("--workload", o->workload, "Workload JSON, or a key known to the first store")->required();
  c->add_option("--store", o->stores, "Store whose best config to re-time (repeatable; the first is the reference)");
  c->add_flag("--default", o->with_default, "Also time the template's default config");
  c->add_flag("--seeds", o->with_seeds, "Also time every seed config of the template (the default is seed 1)");
  c->add_option("--config", o->configs, "Also time this config (JSON; repeatable)");
  c->add_option("--rounds", o->rounds, "Alternating rounds (default 5); medians are reported");
  c->add_option("--framework", o->framework, "Tuning framework (default halide)");
  c->add_flag("--json", o->json, "Machine-readable output (format opal.measure/1)");
  c->callback([o, run] { *run = [o] { return Run(*o); }; });
}

}  // namespace opal::cli
