// opal report --store DSN [--model DIR] [--plan FILE] [--cost-model SPEC] -o report.html
#include <fmt/format.h>

#include <fstream>

#include "commands.h"
#include "opal/report.h"

namespace opal::cli {
namespace {

struct Options {
  ReportOptions report;
  std::string store, out = "report.html", plotly = kDefaultPlotlyJs, json_out;
};

Status Run(Options o) {
  o.report.store_dsn = StoreDsn(o.store);
  OPAL_ASSIGN_OR_RETURN(Json data, CollectReport(o.report));
  OPAL_ASSIGN_OR_RETURN(std::string html, RenderReportHtml(data, o.plotly));
  std::ofstream out(o.out, std::ios::binary | std::ios::trunc);
  if (!out) return Error(ErrorCode::kIo, "-o: cannot write {}", o.out);
  out << html;
  out.close();
  if (!out) return Error(ErrorCode::kIo, "-o: writing {} failed (disk full?)", o.out);
  if (!o.json_out.empty()) {
    std::ofstream j(o.json_out);
    j << data.dump(2) << '\n';
    if (!j) return Error(ErrorCode::kIo, "--json-out: cannot write {}", o.json_out);
  }
  fmt::print("wrote {} ({:.1f} MiB): {} trials, {} tuning curves{}{}{}\n", o.out, html.size() / 1048576.0,
             data["records"]["trials"].get<int64_t>(), data["records"]["curves"].size(),
             data["cost_model"].is_null() ? ", no cost model" : ", cost model " + data["cost_model"]["spec"].get<std::string>(),
             data["model"].is_null() ? "" : ", model " + o.report.model_dir,
             data["plan"].is_null() ? "" : ", plan " + o.report.plan_file);
  return Status::Ok();
}

}  // namespace

void AddReportCommand(CLI::App& app, CommandFn* run) {
  auto o = std::make_shared<Options>();
  CLI::App* c = app.add_subcommand(
      "report", "Write one self-contained HTML page about a store, a built model and a plan");
  c->add_option("--store", o->store, "Record store DSN (default $OPAL_STORE or the user's SQLite file)");
  c->add_option("--model", o->report.model_dir, "A folder written by opal build: time per kernel and schedules");
  c->add_option("--plan", o->report.plan_file, "opal plan --json output: pipeline timeline and Pareto front");
  c->add_option("--cost-model", o->report.cost_model,
                "Cost model for the predicted-vs-measured chart: FILE, @NAME or @ (default: the newest "
                "registered in the store, when there is one)");
  c->add_option("-o,--output", o->out, "The HTML file to write (default report.html)");
  c->add_option("--profile-runs", o->report.profile_runs, "Profiled runs of --model (default 10)");
  c->add_option("--curves", o->report.max_curves, "Tuning curves drawn (default 12)");
  c->add_option("--plotly", o->plotly, "plotly.js to inline (default: Debian's python3-plotly bundle)");
  c->add_option("--json-out", o->json_out, "Also write the report's data (opal.report/1 JSON)");
  c->callback([o, run] { *run = [o] { return Run(*o); }; });
}

}  // namespace opal::cli
