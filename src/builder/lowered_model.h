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
#include "lower/lowering.h"
#include "opal/build.h"
#include "opal/graph.h"

namespace opal::build {

// Storage of every value: the value whose bytes it uses (itself, or the input of a view node).
class ValueStorage {
 public:
  explicit ValueStorage(const Graph& g) : root_(g.num_values()) {
    for (size_t i = 0; i < root_.size(); ++i) root_[i] = static_cast<ValueId>(i);
  }
  void Alias(ValueId out, ValueId in) { root_[static_cast<size_t>(out)] = Root(in); }
  // Values added to the graph after construction (packed weights) are their own root.
  ValueId Root(ValueId v) const {
    return static_cast<size_t>(v) < root_.size() ? root_[static_cast<size_t>(v)] : v;
  }

 private:
  std::vector<ValueId> root_;
};

struct LoweredNode {
  NodeId node;
  size_t def;        // index into LoweredModel::defs
  std::string name;  // kernel name
};

struct LoweredModel {
  std::deque<lower::KernelDef> defs;  // stable addresses: compile jobs point into it
  std::vector<LoweredNode> steps;     // one per kernel call, in graph order
  ValueStorage storage;
  explicit LoweredModel(const Graph& g) : storage(g) {}
};

// Chooses every tunable node's schedule (`chooser`) and lowers every node that needs a kernel;
// views alias their input's storage. Adds packed weights to `g` where a schedule reads them.
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
