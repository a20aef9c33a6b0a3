#include "builder/schedule_choice.h"

#include <fmt/format.h>

#include <algorithm>

#include "opal/log.h"
#include "opal/tuning_search.h"
#include "opal/zero_shot.h"
#include "tune/contraction_space.h"

namespace opal::build {

ScheduleChooser::ScheduleChooser(RecordStore* store, const Target& target, const CostModel* model,
                                 int zero_shot_samples, int zero_shot_measure, int retime_top)
    : store_(store),
      target_(target),
      model_(model),
      samples_(zero_shot_samples),
      measure_(zero_shot_measure),
      retime_top_(retime_top) {
  host_ = target_.ExactKey() == Target::DetectHost().ExactKey();
  if (retime_top_ > 1 && !host_) {
    log::Warn("--retime: the build target is not this host; stored figures are used as they are");
    retime_top_ = 0;
  }
  auto fw = MakeTuningFramework("halide");
  if (fw.ok()) fw_ = std::move(*fw);
}

std::optional<ScheduleChoice> ScheduleChooser::Retime(const Workload& w,
                                                      const std::vector<StoredConfig>& candidates,
                                                      ScheduleSource source,
                                                      const std::vector<int>& ranks) {
  std::vector<Config> configs;
  for (const auto& c : candidates) configs.push_back(c.config);
  const auto times = RetimeSideBySide(*fw_, w, target_, configs, kRetimeRounds);
  const size_t best_i = FastestSideBySide(times);
  if (best_i >= candidates.size()) return std::nullopt;
  std::optional<ScheduleChoice> best =
      ScheduleChoice{source, candidates[best_i].config, MedianOf(times[best_i]), "",
                     static_cast<int>(candidates.size())};
  if (best && ranks.empty()) {
    best->note = "re-timed the " + std::to_string(candidates.size()) + " best stored configs" +
                 (source == ScheduleSource::kCoarse ? " of machines of this kind" : "") +
                 "; kept #" + std::to_string(best_i + 1);
  } else if (best) {
    // Rank 0 is the template's default, measured beside the stored configs.
    const bool with_default = ranks.back() == 0;
    const std::vector<int> stored(ranks.begin(), ranks.end() - (with_default ? 1 : 0));
    best->note = fmt::format(
        "re-timed {} stored configs of machines of this kind, the best of each form first "
        "(ranks {}){}; kept {}",
        stored.size(), fmt::join(stored, ", "), with_default ? ", and the template's default" : "",
        ranks[best_i] == 0 ? std::string("the default") : "#" + std::to_string(ranks[best_i]));
  }
  if (best) log::Debug("{}: {}", w.Summary(), best->note);
  return best;
}

Result<ScheduleChoice> ScheduleChooser::Choose(const Workload& w) {
  if (auto it = memo_.find(w.Key()); it != memo_.end()) return it->second;
  if (!fw_) return Error(ErrorCode::kFailed, "the halide tuning framework is not available");
  ScheduleChoice choice;
  choice.source = ScheduleSource::kDefault;
  const Config fallback = tune::ContractionDefault(w, target_);
  choice.config = fallback;
  OPAL_ASSIGN_OR_RETURN(ConfigSpace space, fw_->Space(w, target_));
  std::string why = store_ ? "no valid record of this workload in the current space" : "no store";
  bool found = false;
  if (store_) {
    // 1. This exact machine.
    OPAL_ASSIGN_OR_RETURN(std::vector<StoredConfig> best,
                          BestStoredConfigs(*fw_, *store_, w, target_, std::max(1, retime_top_)));
    if (!best.empty()) {
      found = true;
      choice = {ScheduleSource::kExact, best[0].config, best[0].record.median_s, "", 0};
      if (best.size() > 1)
        if (auto r = Retime(w, best, ScheduleSource::kExact)) choice = *r;
    }
    // 2. Another machine of the same kind.
    if (!found) {
      // Their ranking is another machine's: re-time the best config of each form first (the
      // best of one form there is often beaten here by another form's).
      const int k = CanMeasure() ? std::max(1, std::min(3, measure_)) : 1;
      OPAL_ASSIGN_OR_RETURN(std::vector<StoredConfig> pool,
                            BestStoredConfigs(*fw_, *store_, w, target_, 4 * k, /*coarse=*/true));
      std::vector<int> ranks;
      best.clear();
      for (size_t i : OneOfEachForm(*fw_, pool, k)) {
        best.push_back(pool[i]);
        ranks.push_back(static_cast<int>(i) + 1);
      }
      if (!best.empty()) {
        found = true;
        choice = {ScheduleSource::kCoarse, best[0].config, best[0].record.median_s,
                  "the best record of " + best[0].record.target_key, 0};
        // The template's default is measured beside them (unless it is one of them): another
        // machine's best configs can all be slower here than the safe heuristic choice (a
        // ResNet-50 1x1 conv on an AMD EPYC: Intel's 3 re-timed at 143-170 GFLOP/s, the default
        // 175-216), and a schedule chosen here should never be worse than the default.
        if (CanMeasure()) {
          if (std::none_of(best.begin(), best.end(),
                           [&](const StoredConfig& c) { return c.config == fallback; })) {
            best.push_back({Record{}, fallback});
            ranks.push_back(0);
          }
          if (auto r = Retime(w, best, ScheduleSource::kCoarse, ranks)) choice = *r;
        }
      }
    }
    // 3. Candidates measured here: the default, nearby workloads' best, the cost model's picks.
    if (!found && CanMeasure()) {
      costmodel::ZeroShotOptions zo;
      zo.samples = model_ ? samples_ : 0;
      zo.measure = measure_;
      zo.coarse = true;
      zo.seed = 1;
      auto r = costmodel::ZeroShotTune(*fw_, w, target_, *store_, model_, zo);
      if (!r.ok()) {
        why += "; measuring candidates failed: " + r.status().message();
      } else if (!r->best) {
        why += fmt::format("; none of the {} configs measured ran", r->measured);
      } else if (auto c = space.Parse(r->best->config_json); c.ok()) {
        found = true;
        // The template's seeds (its default among them) and the model's picks are all "zero-shot":
        // chosen without a record of this workload, measured here against each other. `default`
        // is kept for the schedule nothing was measured for; the note says which candidate won.
        const ScheduleSource src = r->best_from == "transferred" ? ScheduleSource::kTransferred
                                                                 : ScheduleSource::kZeroShot;
        choice = {src, *c, r->best->median_s,
                  fmt::format("fastest of {} measured here{} ({}{})", r->measured,
                              r->side_by_side > 1 ? " side by side" : "", r->best_from,
                              model_ ? "" : "; no cost model"),
                  r->measured};
      }
    } else if (!found) {
      why += host_ ? "; measuring disabled" : "; the target is not this host: nothing measured";
    }
  }
  if (!found) {
    choice.note = why;
    log::Debug("{}: default schedule ({})", w.Summary(), why);
  }
  memo_[w.Key()] = choice;
  return choice;
}

}  // namespace opal::build
