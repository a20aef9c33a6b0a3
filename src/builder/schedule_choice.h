// Which schedule a tunable node gets: the store's best valid record for the exact target, else
// zero-shot with the cost model (its trials are written to the store), else the template's
// default. Memoised per workload, so a workload that occurs many times is looked up once.
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
  double expected_s = 0;  // the chosen record's median time; 0 for the default schedule
  std::string note;       // why a better source was not used, e.g. "no record; no cost model"
};

class ScheduleChooser {
 public:
  // `store` and `model` may be null. The framework is the Halide one of src/tune. With
  // `retime_top` > 1 and `target` the host, the best stored configs are re-timed (BuildOptions).
  ScheduleChooser(RecordStore* store, const Target& target, const CostModel* model,
                  int zero_shot_samples, int zero_shot_measure, int retime_top = 0);
  Result<ScheduleChoice> Choose(const Workload& w);

 private:
  // The fastest of `candidates` re-timed in alternating rounds; nullopt when none ran.
  std::optional<ScheduleChoice> Retime(const Workload& w, const std::vector<StoredConfig>& candidates);

  RecordStore* store_;
  Target target_;
  const CostModel* model_;
  int samples_, measure_, retime_top_;
  std::unique_ptr<TuningFramework> fw_;
  std::map<std::string, ScheduleChoice> memo_;
};

}  // namespace opal::build
