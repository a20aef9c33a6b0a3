#include "build/schedule_choice.h"

#include "costmodel/zero_shot.h"
#include "opal/log.h"
#include "opal/tuning_search.h"
#include "tune/contraction_space.h"

namespace opal::build {

ScheduleChooser::ScheduleChooser(RecordStore* store, const Target& target, const CostModel* model,
                                 int zero_shot_samples, int zero_shot_measure)
    : store_(store), target_(target), model_(model), samples_(zero_shot_samples),
      measure_(zero_shot_measure) {
  auto fw = MakeTuningFramework("halide");
  if (fw.ok()) fw_ = std::move(*fw);
}

Result<ScheduleChoice> ScheduleChooser::Choose(const Workload& w) {
  if (auto it = memo_.find(w.Key()); it != memo_.end()) return it->second;
  ScheduleChoice choice;
  choice.source = ScheduleSource::kDefault;
  choice.config = tune::ContractionDefault(w, target_);
  if (!fw_) return Error(ErrorCode::kFailed, "the halide tuning framework is not available");
  OPAL_ASSIGN_OR_RETURN(ConfigSpace space, fw_->Space(w, target_));
  std::string why = store_ ? "no valid record in the current space for this target" : "no store";
  if (store_) {
    OPAL_ASSIGN_OR_RETURN(std::vector<StoredConfig> best, BestStoredConfigs(*fw_, *store_, w, target_, 1));
    if (!best.empty()) choice = {ScheduleSource::kStore, best[0].config, best[0].record.median_s, ""};
  }
  if (choice.source == ScheduleSource::kDefault && store_ && model_) {
    costmodel::ZeroShotOptions zo;
    zo.samples = samples_;
    zo.measure = measure_;
    zo.seed = 1;
    auto r = costmodel::ZeroShotTune(*fw_, w, target_, *store_, *model_, zo);
    if (!r.ok()) {
      why += "; zero-shot failed: " + r.status().message();
    } else if (!r->best) {
      why += "; zero-shot measured no valid config";
    } else if (auto c = space.Parse(r->best->config_json); c.ok()) {
      choice = {ScheduleSource::kZeroShot, *c, r->best->median_s, ""};
    }
  } else if (choice.source == ScheduleSource::kDefault && store_) {
    why += "; no cost model for zero-shot";
  }
  if (choice.source == ScheduleSource::kDefault) {
    choice.note = why;
    log::Debug("{}: default schedule ({})", w.Summary(), why);
  }
  memo_[w.Key()] = choice;
  return choice;
}

}  // namespace opal::build
