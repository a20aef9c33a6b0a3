// The model builder: an ONNX model -> a deployable shared library with the best kernels known for
// the target (docs/build.md).
//
// BuildModel imports the model, runs the graph passes (passes/passes.h), chooses a schedule for
// every tunable node (the store's best valid record for the exact target; else one of another
// machine of the same kind; else, on this host, the fastest of a few measured candidates: the
// template's default, the best configs of the nearest stored workloads and the cost model's top
// picks, whose measurements are stored; else the template's default),
// lowers every node to a Halide kernel, compiles the kernels ahead of time (in parallel, cached by
// content), plans the arena, writes the weights blob and links
//   DIR/libmodel.so     kernels + Halide runtime + opal runtime (C API: include/opal/runtime.h)
//   DIR/weights.bin     constants, 64-byte aligned
//   DIR/manifest.json   "opal.build/1": per node the kernel, its source and expected time
//   DIR/src/            the generated program.cc and the kernels' objects (for inspection)
#pragma once

#include <map>
#include <string>
#include <vector>

#include "opal/json.h"
#include "opal/record_store.h"
#include "opal/status.h"
#include "opal/target.h"
#include "opal/tensor.h"

namespace opal {

struct BuildOptions {
  std::string model_path;
  std::string out_dir;
  // Records are read from here (and build-time measurements written); nullptr = no store.
  RecordStore* store = nullptr;
  // Cost model that ranks candidate configs of workloads no record covers ("" = none: the default
  // and the transferred configs are measured in order): a file, or "@NAME" / "@" for a model
  // registered in the store `store_dsn` (LoadCostModel).
  std::string cost_model;
  std::string store_dsn;
  int zero_shot_samples = 2000;
  // Configs measured on this host for each workload that no record of this target covers (the
  // template's default, the best configs of the nearest stored workloads, the cost model's top
  // picks), side by side in one process; every trial is stored and the winner kept. 8: on
  // held-out workloads 8 reached 0.97-1.01x of 128 tuning trials, 4 less (docs/costmodel.md).
  // 0 = measure nothing: such workloads get the best record of another machine of the same kind,
  // else the default schedule.
  int zero_shot_measure = 8;
  // Re-time the `retime_top` best stored configs of each workload side by side on this host
  // (RetimeSideBySide) and keep the fastest, instead of trusting the highest stored figure, which
  // on a machine with drifting clocks can be one lucky timing. 0 or 1: no re-timing. Only
  // when the build target is this host.
  int retime_top = 0;
  // Shapes for graph inputs with symbolic dims (as `opal tasks --input-shape`).
  std::map<std::string, Shape> input_shapes;
  // Names of the graph inputs that stay runtime inputs. Empty = all inputs, except for a model
  // that declares its parameters as inputs without initializers: then only the first input stays
  // and the others get deterministic random weights (with a warning).
  std::vector<std::string> runtime_inputs;
  // Parallel compile processes (<= 0: the target's cores).
  int jobs = 0;
  // Kernel object cache ("" = $XDG_CACHE_HOME/opal/kernels or ~/.cache/opal/kernels; "off").
  std::string cache_dir;
};

// Where a node's schedule came from: a record measured on this exact target; a record of another
// machine of the same kind (coarse key); the best config of a nearby stored workload, measured
// here; a config the cost model ranked high, measured here; the template's default (measured
// fastest among the candidates, or nothing better was available); not tunable.
enum class ScheduleSource { kExact, kCoarse, kTransferred, kZeroShot, kDefault, kNotTunable };
// "exact", "coarse", "transferred", "zero-shot", "default", "-"
const char* ScheduleSourceName(ScheduleSource s);

struct BuiltNode {
  std::string node;      // graph node name (after passes)
  std::string op_type;   // "Conv"
  std::string kernel;    // AOT function name, "" for alias nodes (views)
  std::string kind;      // "contraction", "elementwise", ..., "view"
  std::string workload_key;  // tunable nodes only
  std::string epilogue;      // op types of the nodes fused into this node's kernel, comma-separated
  std::string fused_into;    // kind "fused": the node whose kernel computes this one
  ScheduleSource source = ScheduleSource::kNotTunable;
  double expected_s = 0;     // the record's median time (store / zero-shot), 0 when unknown
  std::string schedule_note; // how the schedule was chosen when not plainly (re-timed, why default)
  std::string config;        // tunable nodes: the schedule config (canonical JSON)
};

struct BuildReport {
  std::string model;
  std::string target;
  std::vector<BuiltNode> nodes;
  int kernels = 0;          // distinct kernels compiled into the library
  int kernels_cached = 0;   // of which came from the cache
  int64_t arena_bytes = 0;
  int64_t arena_naive_bytes = 0;
  int64_t weights_bytes = 0;
  std::vector<std::string> random_weights;  // inputs given random values
  std::map<std::string, double> phase_s;    // "import", "passes", "choose", "compile", "link"
  double total_s = 0;
  Json ToJson() const;  // "opal.build/1", also written to DIR/manifest.json
};

// Errors: the importer's (kNotFound, kInvalidModel, ...), kUnsupported listing every node opal
// cannot lower, kFailed with the compiler's or linker's message, kIo for the output directory.
Result<BuildReport> BuildModel(const BuildOptions& options);

}  // namespace opal
