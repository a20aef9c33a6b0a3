// `opal report`: one self-contained HTML page about a record store and, optionally, a built model
// and a training plan -- records per target and op, tuning curves, the cost model's predictions
// against the measurements, a model's per-kernel time with each kernel's schedule, a plan's
// pipeline timeline and its time/cost Pareto front (docs/report.md).
//
// CollectReport gathers the numbers into one JSON document (format opal.report/1, described in
// docs/report.md); RenderReportHtml writes the page: that document and plotly.js (read from a file
// of Debian's python3-plotly) inlined, so the page needs no network when it is viewed. Both are
// pure functions of their inputs except that CollectReport reads the store, loads and runs the
// model (profiled runs on random inputs) and reads the plan file.
#pragma once

#include <string>

#include "opal/json.h"
#include "opal/status.h"

namespace opal {

struct ReportOptions {
  std::string store_dsn;   // required: the record store
  std::string model_dir;   // "" = none: a folder written by `opal build`
  std::string plan_file;   // "" = none: opal.plan/1 JSON (`opal plan --json`)
  // Cost model for the predicted-vs-measured chart: a file, "@NAME", "@" (newest registered in
  // the store) or "" = the newest registered one when there is one, else no chart.
  std::string cost_model;
  int profile_runs = 10;      // profiled runs of the model
  int max_curves = 12;        // tuning curves drawn (workloads with the most trials)
  int max_scatter = 4000;     // points of the predicted-vs-measured chart at most
};

// Errors: the store's (kInvalidArgument, kUnavailable, kNotFound for a missing sqlite file),
// the model's (ModelLibrary::Open, a missing or malformed manifest.json: kNotFound/kInvalidModel),
// the plan file's (kNotFound, kInvalidModel when it is not opal.plan/1 with a best plan), an
// explicitly named cost model that cannot be loaded.
Result<Json> CollectReport(const ReportOptions& options);

// Where plotly.js is looked for by default: Debian's python3-plotly bundle.
inline constexpr const char* kDefaultPlotlyJs = "/usr/share/python3-plotly/plotly.js";

// The HTML page. kNotFound when `plotly_js` cannot be read (with what to install).
Result<std::string> RenderReportHtml(const Json& report, const std::string& plotly_js);

}  // namespace opal
