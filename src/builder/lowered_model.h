// The middle of a build: every node of the optimised graph with its kernel (lowered to Halide
// with its chosen schedule) or its view, and what the program needs from them. Private to the
// builder (builder.cc runs the steps in order: ChooseAndLower, AssembleProgram, PlaceTensors,
// then compile and link).
#pragma once

#include <deque>
#include <map>
#include <string>
#include <vector>

#include "builder/aot_compile.h"
#include "builder/program_gen.h"
#include "builder/schedule_choice.h"
#include "builder/value_storage.h"
#include "lower/lowering.h"
#include "opal/build.h"
#include "opal/graph.h"

namespace opal::build {

struct LoweredNode {
  NodeId node;        // the kernel group's anchor
  size_t def;         // index into LoweredModel::defs
  std::string name;   // kernel name
  std::string label;  // the step's node names (the anchor, then the fused nodes), for profiles
};

struct LoweredModel {
  std::deque<lower::KernelDef> defs;  // stable addresses: compile jobs point into it
  std::vector<LoweredNode> steps;     // one per kernel call (per kernel group), in the order they run
  ValueStorage storage;
  explicit LoweredModel(const Graph& g) : storage(g) {}
};

// Plans the kernel groups (lower/kernel_groups.h), chooses every tunable anchor's schedule
// (`chooser`) and lowers every group to one kernel; views alias their input's storage. Adds packed weights to `g` where a schedule reads them.
// Appends one BuiltNode per node to `report`. kUnsupported listing the nodes that cannot be lowered.
Result<LoweredModel> ChooseAndLower(Graph& g, ScheduleChooser& chooser, const Target& target,
                                    const std::string& model_path, BuildReport* report);

// The program's kernels (deduplicated by name), tensors, arguments and steps, and the compile
// job of every distinct kernel (pointing into `lm.defs`).
ProgramSpec AssembleProgram(const Graph& g, const LoweredModel& lm, std::vector<CompileJob>* jobs,
                            std::map<ValueId, int32_t>* tensor_of);

// Places every tensor: arena tensors by the memory plan of their lifetimes, constants in the
// weights blob (returned). Fills offsets and sizes in `spec` and `report`.
std::string PlaceTensors(const Graph& g, const LoweredModel& lm, const std::map<ValueId, int32_t>& tensor_of,
                         ProgramSpec* spec, BuildReport* report);

}  // namespace opal::build
