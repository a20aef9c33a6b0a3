// opal tasks MODEL.onnx | --workloads FILE  [--json] [--input-shape NAME=DIMS]... [--target STR]
#include <fmt/format.h>

#include <memory>

#include "commands.h"
#include "opal/onnx_import.h"
#include "opal/tasks.h"

namespace opal::cli {
namespace {

struct Options {
  std::string model;
  std::string workload_list;  // instead of a model: a file of workloads, one JSON object per line
  bool json = false;
  std::vector<std::string> input_shapes;
  std::string target;
};

std::string OpCounts(const std::map<std::string, int>& ops) {
  std::vector<std::pair<int, std::string>> v;
  for (const auto& [op, n] : ops) v.emplace_back(-n, op);
  std::sort(v.begin(), v.end());
  std::string s;
  for (const auto& [n, op] : v) s += (s.empty() ? "" : ", ") + fmt::format("{} x{}", op, -n);
  return s.empty() ? "none" : s;
}

Status Run(const Options& o) {
  if (o.model.empty() == o.workload_list.empty())
    return Error(ErrorCode::kInvalidArgument, "give one of MODEL.onnx or --workloads FILE");
  OPAL_ASSIGN_OR_RETURN(Target target, ResolveTarget(o.target));
  Graph g;
  TaskList tasks;
  if (!o.workload_list.empty()) {
    OPAL_ASSIGN_OR_RETURN(tasks, ReadWorkloadList(o.workload_list, "--workloads"));
    for (const Task& t : tasks.tasks) tasks.total_flops += t.flops;
  } else {
    ImportOptions io;
    OPAL_ASSIGN_OR_RETURN(io.input_shapes, ParseInputShapes(o.input_shapes));
    OPAL_ASSIGN_OR_RETURN(g, ImportOnnxFile(o.model, io));
    tasks = ExtractTasks(g);
  }
  const std::string source = o.model.empty() ? o.workload_list : o.model;
  if (o.json) {
    Json j = tasks.ToJson();
    j["model"] = source;
    j["opset"] = g.opset;
    j["nodes"] = g.num_nodes();
    j["target"] = target.ToJson();
    fmt::print("{}\n", j.dump(2));
    return Status::Ok();
  }
  int tunable_nodes = 0;
  for (const auto& t : tasks.tasks) tunable_nodes += t.count;
  if (o.model.empty())
    fmt::print("list    {}\n", source);
  else
    fmt::print("model   {} (opset {}, {} nodes)\n", o.model, g.opset, g.num_nodes());
  fmt::print("target  {}  {} ({} cores{})\n", target.ExactKey(), target.model, target.cores,
             target.IsaFamily().empty() ? "" : ", " + target.IsaFamily());
  fmt::print("tasks   {} unique tunable workloads from {} nodes, {}FLOP per inference "
             "(other operators ~{}FLOP)\n\n",
             tasks.tasks.size(), tunable_nodes, HumanCount(tasks.total_flops), HumanCount(tasks.other_flops));
  fmt::print("{:>3}  {:<29} {:>5} {:>10} {:>6}  {}\n", "#", "key", "count", "MFLOP/run", "share", "workload");
  for (size_t i = 0; i < tasks.tasks.size(); ++i) {
    const Task& t = tasks.tasks[i];
    fmt::print("{:>3}  {:<29} {:>5} {:>10.1f} {:>5.1f}%  {}\n", i + 1, t.workload.Key(), t.count, t.flops / 1e6,
               100 * t.share, t.workload.Summary());
  }
  fmt::print("\nother operators: {}\n", OpCounts(tasks.other_ops));
  fmt::print("unsupported operators: {}\n", OpCounts(tasks.unsupported_ops));
  for (const auto& s : tasks.skipped) fmt::print("skipped {} ({}): {}\n", s.node, s.op_type, s.reason);
  return Status::Ok();
}

}  // namespace

void AddTasksCommand(CLI::App& app, CommandFn* run) {
  auto o = std::make_shared<Options>();
  CLI::App* sub = app.add_subcommand("tasks", "List the tunable workloads (tuning tasks) of an ONNX model");
  sub->add_option("model", o->model, "ONNX model file");
  sub->add_option(
      "--workloads", o->workload_list,
      "Instead of a model: a file of workloads, one JSON object per line (prints their keys)");
  sub->add_flag("--json", o->json, "Print JSON (format opal.tasks/1)");
  // One value per flag: with the model optional (--workloads), a flag taking several values would
  // swallow the model's path after it.
  sub->add_option("--input-shape", o->input_shapes, "Shape for a graph input: NAME=1x3x224x224 (repeatable)")
      ->allow_extra_args(false);
  sub->add_option("--target", o->target, "Target string (default: the host)");
  sub->callback([o, run] { *run = [o] { return Run(*o); }; });
}

}  // namespace opal::cli
