#include "builder/schedule_choice.h"

#include <algorithm>

#include "opal/zero_shot.h"
#include "opal/log.h"
#include "opal/tuning_search.h"
#include "tune/contraction_space.h"

namespace opal::build {

ScheduleChooser::ScheduleChooser(RecordStore* store, const Target& target, const CostModel* model,
                                 int zero_shot_samples, int zero_shot_measure, int retime_top)
    : store_(store), target_(target), model_(model), samples_(zero_shot_samples),
      measure_(zero_shot_measure), retime_top_(retime_top) {
  if (retime_top_ > 1 && target_.ExactKey() != Target::DetectHost().ExactKey()) {
    log::Warn("--retime: the build target is not this host; stored figures are used as they are");
    retime_top_ = 0;
  }
  auto fw = MakeTuningFramework("halide");
  if (fw.ok()) fw_ = std::move(*fw);
}

std::optional<ScheduleChoice> ScheduleChooser::Retime(const Workload& w,
                                                      const std::vector<StoredConfig>& candidates) {
  std::vector<Config> configs;
  for (const auto& c : candidates) configs.push_back(c.config);
  const auto times = RetimeSideBySide(*fw_, w, target_, configs, 3);
  std::optional<ScheduleChoice> best;
  size_t best_i = 0;
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (times[i].empty()) continue;
    const double s = MedianOf(times[i]);
    if (!best || s < best->expected_s) {
      best = ScheduleChoice{ScheduleSource::kStore, candidates[i].config, s, ""};
      best_i = i;
    }
  }
  if (best) {
    best->note = "re-timed the " + std::to_string(candidates.size()) + " best stored configs; kept #" +
                 std::to_string(best_i + 1);
    log::Debug("{}: {}", w.Summary(), best->note);
  }
  return best;
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
    OPAL_ASSIGN_OR_RETURN(std::vector<StoredConfig> best,
                          BestStoredConfigs(*fw_, *store_, w, target_, std::max(1, retime_top_)));
    if (!best.empty()) choice = {ScheduleSource::kStore, best[0].config, best[0].record.median_s, ""};
    if (best.size() > 1) {
      if (auto r = Retime(w, best)) choice = *r;
    }
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
