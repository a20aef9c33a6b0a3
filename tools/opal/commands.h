// The opal command line: each subcommand lives in cmd_<name>.cc and registers itself here.
// Commands parse flags and call the library; they hold no logic of their own.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "opal/progress.h"
#include "opal/record_store.h"
#include "opal/status.h"
#include "opal/target.h"
#include "opal/tasks.h"
#include "opal/tensor.h"
#include "opal/workload.h"

namespace opal::cli {

// Set by the chosen subcommand's callback; main runs it after parsing.
using CommandFn = std::function<Status()>;

void AddTargetCommand(CLI::App& app, CommandFn* run);
void AddTasksCommand(CLI::App& app, CommandFn* run);
void AddTuneCommand(CLI::App& app, CommandFn* run);
void AddPlanCommand(CLI::App& app, CommandFn* run);
void AddDbCommand(CLI::App& app, CommandFn* run);
void AddCostModelCommand(CLI::App& app, CommandFn* run);
void AddWorkerCommand(CLI::App& app, CommandFn* run);  // also `opal status`
void AddBuildCommand(CLI::App& app, CommandFn* run);
void AddDeliverCommand(CLI::App& app, CommandFn* run);
void AddRunCommand(CLI::App& app, CommandFn* run);
void AddMeasureCommand(CLI::App& app, CommandFn* run);
void AddReportCommand(CLI::App& app, CommandFn* run);

// --target: "" or "host" means the detected host.
Result<Target> ResolveTarget(const std::string& spec);
// --input-shape NAME=1x3x224x224 (repeatable).
Result<std::map<std::string, Shape>> ParseInputShapes(const std::vector<std::string>& specs);

// A --store flag's DSN: the flag when given, else RecordStore::DefaultDsn().
std::string StoreDsn(const std::string& flag);
// Opens a store that must already exist (read-only uses: plan, measure): a sqlite: file that is
// absent is kNotFound instead of being created.
Result<std::unique_ptr<RecordStore>> OpenExistingStore(const std::string& dsn);

// The starter knowledge base (opal/starter_kb.h) for a command that reads or writes `store`:
// imported into the user's default store (no --store flag) on first use, and, when `cost_model`
// is given and empty, its cost model named there as the default (when the store holds it).
Status UseStarterKb(const std::string& store_flag, RecordStore& store, std::string* cost_model);

// --workload: a workload's JSON object, or a workload key already known to `store`.
Result<Workload> ResolveWorkload(const std::string& spec, RecordStore& store);

// The workloads of a list file (the `flag` that named it, for messages): one JSON object per line
// (a workload, as `opal tasks --json` prints them under "workload"); blank lines and lines starting
// with '#' are skipped; duplicates count once; each task gets an equal share. A missing file is
// kNotFound, a bad line or an empty list kInvalidArgument naming the line.
Result<TaskList> ReadWorkloadList(const std::string& path, const std::string& flag);

// How long work shows its progress: JSON events with --json, nothing with -q, else a bar on a
// terminal and periodic lines otherwise (opal/progress.h).
ProgressStyle CliProgressStyle(bool json);

// Human-friendly numbers: 8.21 G, 512 K.
std::string HumanCount(double v);

}  // namespace opal::cli
