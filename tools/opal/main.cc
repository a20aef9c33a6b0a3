// opal: operator performance knowledge base. See `opal --help` and docs/cli.md.
#include <cstdio>

#include "commands.h"
#include "opal/log.h"
#include "opal/version.h"

int main(int argc, char** argv) {
  opal::log::InitFromEnv();
  CLI::App app{"opal: knows how fast deep-learning operators run on each device, tunes them, and uses "
               "that to deliver fast models and plan training on mixed GPUs."};
  app.name("opal");
  app.set_version_flag("--version", std::string("opal ") + OPAL_VERSION);
  app.require_subcommand(1);
  bool verbose = false, quiet = false;
  app.add_flag("-v,--verbose", verbose, "Print debug diagnostics on stderr");
  app.add_flag("-q,--quiet", quiet, "Print only warnings and errors on stderr");

  opal::cli::CommandFn run;
  opal::cli::AddTargetCommand(app, &run);
  opal::cli::AddTasksCommand(app, &run);
  opal::cli::AddTuneCommand(app, &run);
  opal::cli::AddPlanCommand(app, &run);
  opal::cli::AddDbCommand(app, &run);
  opal::cli::AddCostModelCommand(app, &run);
  opal::cli::AddWorkerCommand(app, &run);
  opal::cli::AddDeliverCommand(app, &run);
  opal::cli::AddBuildCommand(app, &run);
  opal::cli::AddRunCommand(app, &run);
  opal::cli::AddMeasureCommand(app, &run);
  opal::cli::AddReportCommand(app, &run);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);  // prints help/version (rc 0) or the usage error
    return rc == 0 ? 0 : opal::ExitCodeFor(opal::ErrorCode::kInvalidArgument);
  }
  if (verbose) opal::log::SetLevel(opal::log::Level::kDebug);
  if (quiet) opal::log::SetLevel(opal::log::Level::kWarn);
  if (!run) return opal::ExitCodeFor(opal::ErrorCode::kInvalidArgument);
  opal::Status st = run();
  if (!st.ok()) {
    std::fflush(stdout);
    std::fprintf(stderr, "opal: error: %s\n", st.message().c_str());
    return opal::ExitCodeFor(st.code());
  }
  return 0;
}
