// The framework registry and what every framework shares: turning a trial into a record.
#include "opal/tuning_framework.h"


#include "opal/log.h"
#include "opal/tuning_search.h"
#include "tune/halide_framework.h"

namespace opal {

std::vector<std::vector<double>> TuningFramework::MeasureSideBySide(
    const Workload& w, const std::vector<Config>& configs, const Target& t,
    const MeasureOptions& options, int rounds, std::vector<std::string>* errors) {
  std::vector<std::vector<double>> out(configs.size());
  std::vector<bool> failed(configs.size(), false);
  if (errors) errors->assign(configs.size(), "");
  for (int r = 0; r < rounds; ++r) {
    for (size_t j = 0; j < configs.size(); ++j) {
      const size_t i = (j + static_cast<size_t>(r)) % configs.size();
      if (failed[i]) continue;  // a config's times are its first rounds
      TrialResult tr = Measure(w, configs[i], t, options);
      if (tr.status == TrialStatus::kOk && !tr.times_s.empty()) {
        out[i].push_back(MedianOf(tr.times_s));
      } else {
        failed[i] = true;
        if (errors) (*errors)[i] = std::string(TrialStatusName(tr.status)) + ": " + tr.error;
      }
    }
  }
  return out;
}

Result<std::unique_ptr<TuningFramework>> MakeTuningFramework(std::string_view name) {
  if (name == "halide")
    return MakeHalideFramework();
  return Error(ErrorCode::kInvalidArgument, "unknown tuning framework '{}' (known: halide)", name);
}

Record MakeTrialRecord(const TuningFramework& fw, const Workload& w, const Target& t,
                       const Config& c, const TrialResult& r, const std::string& worker_id) {
  Record rec;
  rec.workload_key = w.Key();
  rec.workload_json = w.CanonicalJson();
  rec.op = w.op();
  rec.target_key = t.ExactKey();
  rec.target_coarse_key = t.CoarseKey();
  rec.target_string = t.CanonicalString();
  rec.framework = fw.Name();
  rec.framework_version = fw.Version();
  rec.config_json = c.CanonicalJson();
  rec.status = r.status;
  rec.error = r.status == TrialStatus::kOk ? "" : r.error;
  if (r.status == TrialStatus::kOk) rec.times_s = r.times_s;
  rec.provenance = fw.GetProvenance();
  rec.provenance.worker_id = worker_id;
  rec.timestamp_us = NowMicros();
  rec.Finalize(w.Flops());
  return rec;
}

}  // namespace opal
