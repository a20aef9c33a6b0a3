#include "opal/tune_job.h"

namespace opal::dist {

JobSpec MakeTuneJob(const std::vector<TuneJobTask>& tasks, const TuneJobOptions& o) {
  JobSpec s;
  s.name = o.name;
  s.target_string = o.target.CanonicalString();
  s.target_key = o.target.ExactKey();
  s.framework = o.framework;
  s.framework_version = o.framework_version;
  s.max_attempts = o.max_attempts;
  Json per_task = Json::object();
  for (const auto& t : tasks) {
    s.workloads.push_back({t.workload.Key(), t.workload.CanonicalJson()});
    per_task[t.workload.Key()] = {{"trials", t.trials}, {"time_s", t.time_s}};
  }
  s.settings = {{"strategy", o.strategy},
                {"early_stop", o.early_stop},
                {"transfer", o.transfer},
                {"seed", o.seed},
                {"tasks", per_task}};
  return s;
}

TaskSearchSettings SettingsForTask(const Json& s, const std::string& workload_key) {
  TaskSearchSettings out;
  if (!s.is_object()) return out;
  out.strategy = s.value("strategy", out.strategy);
  out.early_stop = s.value("early_stop", out.early_stop);
  out.transfer = s.value("transfer", out.transfer);
  out.seed = s.value("seed", out.seed);
  if (auto t = s.find("tasks"); t != s.end() && t->is_object()) {
    if (auto w = t->find(workload_key); w != t->end() && w->is_object()) {
      out.trials = w->value("trials", out.trials);
      out.time_s = w->value("time_s", out.time_s);
    }
  }
  return out;
}

}  // namespace opal::dist
