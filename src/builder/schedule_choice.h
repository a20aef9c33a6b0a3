// Which schedule a tunable node gets, in this order:
//  1. exact: the store's best valid record for the exact target (re-timed among the best few with
//     `retime_top` > 1);
//  2. coarse: else, the best records of other machines with the same coarse key (the same ISA
//     family: records tuned on one AVX-512 server serve another) -- re-timed here, up to the
//     measurement budget, when the target is this host;
//  3. transferred / zero-shot: else, on this host with a measurement budget, ZeroShotTune measures
//     the template's default, the best configs of the nearest stored workloads (any machine of
//     the kind) and the cost model's top picks, and the fastest is kept (its trials are stored);
//  4. default: the template's default schedule.
// Memoised per workload, so a workload that occurs many times is looked up once.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "opal/build.h"
#include "opal/cost_model.h"
#include "opal/record_store.h"
#include "opal/target.h"
#include "opal/tuning_framework.h"
#include "opal/tuning_search.h"
#include "opal/tuning_space.h"
#include "opal/workload.h"

namespace opal::build {

struct ScheduleChoice {
  ScheduleSource source = ScheduleSource::kDefault;
  Config config;
  double expected_s = 0;  // the chosen record's median time; 0 when nothing was measured
  std::string note;       // how it was chosen, or why a better source was not used
  int measured = 0;       // configs measured on this host for this choice
};

class ScheduleChooser {
 public:
  // Rounds of a side-by-side re-timing (each times every candidate once, milliseconds apart).
  static constexpr int kRetimeRounds = 7;

  // `store` and `model` may be null. The framework is the Halide one of src/tune. With
  // `retime_top` > 1 and `target` the host, the best stored configs are re-timed (BuildOptions).
  ScheduleChooser(RecordStore* store, const Target& target, const CostModel* model,
                  int zero_shot_samples, int zero_shot_measure, int retime_top = 0);
  Result<ScheduleChoice> Choose(const Workload& w);

 private:
  // The fastest of `candidates` re-timed in alternating rounds; nullopt when none ran. `ranks`:
  // the candidates' ranks among the stored records when they are not simply the first ones.
  std::optional<ScheduleChoice> Retime(const Workload& w, const std::vector<StoredConfig>& candidates,
                                       ScheduleSource source, const std::vector<int>& ranks = {});
  bool CanMeasure() const { return measure_ > 0 && host_; }

  RecordStore* store_;
  Target target_;
  const CostModel* model_;
  int samples_, measure_, retime_top_;
  bool host_ = false;  // the target is this machine: configs can be measured
  std::unique_ptr<TuningFramework> fw_;
  std::map<std::string, ScheduleChoice> memo_;
};

}  // namespace opal::build
