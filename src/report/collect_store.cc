// Records per target and op, and tuning curves: for each (workload, target) the best valid time
// after each trial, in the order the trials were stored.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <vector>

#include "collect.h"

namespace opal::report {
namespace {

struct Curve {
  std::string workload_key, target_key, op;
  std::vector<double> best_ms;  // after trial i (NaN until the first valid trial)
  int ok = 0;
};

}  // namespace

Result<Json> CollectStore(RecordStore& store, const ReportOptions& o) {
  Json stats = Json::array();
  OPAL_ASSIGN_OR_RETURN(std::vector<StoreSummaryRow> rows, store.Summarize());
  for (const StoreSummaryRow& r : rows)
    stats.push_back({{"target", r.target_key},
                     {"op", r.op},
                     {"records", r.records},
                     {"ok_records", r.ok_records},
                     {"workloads", r.workloads},
                     {"best_gflops", r.best_gflops}});
  std::map<std::string, Curve> curves;
  int64_t trials = 0;
  OPAL_RETURN_IF_ERROR(store.Scan({}, [&](const Record& r) {
    ++trials;
    Curve& c = curves[r.workload_key + "@" + r.target_key];
    if (c.workload_key.empty()) {
      c.workload_key = r.workload_key;
      c.target_key = r.target_key;
      c.op = r.op;
    }
    const double prev = c.best_ms.empty() ? std::numeric_limits<double>::quiet_NaN() : c.best_ms.back();
    double best = prev;
    if (r.status == TrialStatus::kOk && r.median_s > 0) {
      ++c.ok;
      const double ms = r.median_s * 1e3;
      best = std::isnan(prev) ? ms : std::min(prev, ms);
    }
    c.best_ms.push_back(best);
    return true;
  }));
  std::vector<const Curve*> order;
  for (const auto& [key, c] : curves)
    if (c.ok > 0) order.push_back(&c);
  std::stable_sort(order.begin(), order.end(), [](const Curve* a, const Curve* b) {
    return a->best_ms.size() > b->best_ms.size();
  });
  if (static_cast<int>(order.size()) > o.max_curves) order.resize(static_cast<size_t>(o.max_curves));
  Json out = Json::array();
  for (const Curve* c : order) {
    Json best = Json::array();
    for (double v : c->best_ms) best.push_back(std::isnan(v) ? Json(nullptr) : Json(v));
    out.push_back({{"workload_key", c->workload_key},
                   {"target", c->target_key},
                   {"op", c->op},
                   {"trials", c->best_ms.size()},
                   {"ok_trials", c->ok},
                   {"best_ms", std::move(best)}});
  }
  return Json{{"stats", std::move(stats)},
              {"curves", std::move(out)},
              {"trials", trials},
              {"groups", curves.size()}};
}

}  // namespace opal::report
