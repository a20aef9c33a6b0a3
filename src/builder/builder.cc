// BuildModel: import -> passes -> schedules -> lowering -> AOT compile -> memory plan -> link.
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <deque>
#include <filesystem>
#include <fstream>

#include "builder/aot_compile.h"
#include "builder/kernel_key.h"
#include "builder/link.h"
#include "builder/memory_plan.h"
#include "builder/model_import.h"
#include "builder/program_gen.h"
#include "builder/schedule_choice.h"
#include "lower/lowering.h"
#include "opal/build.h"
#include "opal/log.h"
#include "opal/tasks.h"
#include "passes/passes.h"
#include "runtime/weights_file.h"
#include "tune/contraction.h"
#include "tune/contraction_space.h"

namespace opal {
namespace fs = std::filesystem;

const char* ScheduleSourceName(ScheduleSource s) {
  switch (s) {
    case ScheduleSource::kStore: return "store";
    case ScheduleSource::kZeroShot: return "zero-shot";
    case ScheduleSource::kDefault: return "default";
    default: return "-";
  }
}

namespace build {
namespace {

using Clock = std::chrono::steady_clock;
double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct LoweredNode {
  NodeId node;
  size_t def;  // index into the kernel defs
  std::string name;
};

// Storage of every value: the value whose bytes it uses (itself, or the input of a view node).
class Storage {
 public:
  explicit Storage(const Graph& g) : root_(g.num_values()) {
    for (size_t i = 0; i < root_.size(); ++i) root_[i] = static_cast<ValueId>(i);
  }
  void Alias(ValueId out, ValueId in) { root_[static_cast<size_t>(out)] = Root(in); }
  // Values added to the graph after construction (packed weights) are their own root.
  ValueId Root(ValueId v) const { return static_cast<size_t>(v) < root_.size() ? root_[static_cast<size_t>(v)] : v; }

 private:
  std::vector<ValueId> root_;
};

// A conv config with chan 1 reads its weights re-laid out (tune::PackChanWeights). When the
// weights are a constant of the model, the packed copy is a new constant value (it goes to
// weights.bin, packed once at build time) and the kernel reads that; kNoValue otherwise (the
// kernel then reads the ONNX layout, correct but slower).
ValueId PackedWeights(Graph& g, const Node& n, const Workload& w, const Config& config) {
  const tune::ContractionKnobs kn = tune::ContractionKnobs::From(config);
  if (!tune::UsesChan(w, kn)) return kNoValue;
  const std::shared_ptr<const Tensor> src = g.value(n.inputs[1]).constant;
  if (!src || src->dtype() != DType::kFloat32) return kNoValue;
  auto packed = std::make_shared<Tensor>(DType::kFloat32, src->shape());
  tune::PackChanWeights(w, tune::ChanWeightPanel(w, kn), src->data<float>(), packed->data<float>());
  Value v;
  v.name = g.value(n.inputs[1]).name + ".packed_by_channel";
  v.dtype = DType::kFloat32;
  v.shape = src->shape();
  v.shape_known = true;
  v.constant = std::move(packed);
  v.is_initializer = true;
  return g.AddValue(std::move(v));
}

int64_t Bytes(const Value& v) { return NumElements(v.shape) * static_cast<int64_t>(DTypeSize(v.dtype)); }

}  // namespace
}  // namespace build

Result<BuildReport> BuildModel(const BuildOptions& o) {
  using namespace build;
  const auto t0 = Clock::now();
  BuildReport rep;
  const Target target = Target::DetectHost();
  rep.target = target.CanonicalString();

  auto t = Clock::now();
  OPAL_ASSIGN_OR_RETURN(ImportedModel im, ImportForBuild(o.model_path, o.input_shapes, o.runtime_inputs));
  Graph& g = im.graph;
  rep.model = g.name.empty() ? fs::path(o.model_path).parent_path().filename().string() : g.name;
  rep.random_weights = im.random_weights;
  // Operators without an opal schema are fine when ONNX inferred their shapes and a lowering
  // exists; the lowering step lists every node it cannot handle.
  rep.phase_s["import"] = Since(t);

  t = Clock::now();
  OPAL_ASSIGN_OR_RETURN(auto pass_stats, passes::RunBuildPasses(g));
  rep.phase_s["passes"] = Since(t);

  // Schedules and lowering.
  t = Clock::now();
  std::unique_ptr<CostModel> model;
  if (!o.cost_model.empty()) {
    OPAL_ASSIGN_OR_RETURN(CostModel m, LoadCostModel(o.cost_model, o.store_dsn));
    model = std::make_unique<CostModel>(std::move(m));
  }
  ScheduleChooser chooser(o.store, target, model.get(), o.zero_shot_samples, o.zero_shot_measure, o.retime_top);
  lower::LowerOptions lo;
  lo.vector_lanes = std::max(4, target.VectorBits() / 32);
  lo.target = &target;
  Storage storage(g);
  std::deque<lower::KernelDef> defs;
  std::vector<LoweredNode> lowered;
  std::vector<std::string> errors;
  for (NodeId id = 0; id < static_cast<NodeId>(g.num_nodes()); ++id) {
    const Node& n = g.node(id);
    bool all_const = true;
    for (ValueId v : n.outputs) all_const = all_const && (v == kNoValue || g.value(v).constant);
    if (all_const) continue;
    BuiltNode bn{n.name, n.op_type, "", "view", "", "", ScheduleSource::kNotTunable, 0};
    if (lower::IsAliasNode(g, n)) {
      storage.Alias(n.outputs[0], n.inputs[0]);
      rep.nodes.push_back(bn);
      continue;
    }
    std::optional<ScheduleChoice> choice;
    std::optional<Workload> workload;
    if (auto wl = WorkloadOfNode(g, n); wl.ok() && wl->has_value() && tune::SupportedWorkload(**wl)) {
      workload = **wl;
      bn.workload_key = (*wl)->Key();
      if (!tune::IsDepthwiseConv(**wl)) {  // depthwise: a direct kernel, no schedule to choose
        OPAL_ASSIGN_OR_RETURN(ScheduleChoice c, chooser.Choose(**wl));
        choice = c;
        bn.source = c.source;
        bn.expected_s = c.expected_s;
        bn.schedule_note = c.note;
      }
    }
    lo.config = choice ? &choice->config : nullptr;
    lo.packed_weights = choice ? PackedWeights(g, n, *workload, choice->config) : kNoValue;
    if (choice) bn.config = choice->config.CanonicalJson();
    if (lo.packed_weights != kNoValue)
      bn.schedule_note += std::string(bn.schedule_note.empty() ? "" : "; ") + "weights packed by output channel at build time";
    auto def = lower::LowerNode(g, n, lo);
    if (!def.ok()) {
      errors.push_back(def.status().message());
      continue;
    }
    defs.push_back(std::move(*def));
    const std::string desc = DescribeKernel(g, n, defs.back(), lo.config);
    bn.kernel = KernelName(desc);
    bn.kind = defs.back().kind;
    if (const Attribute* a = n.attrs.Find("opal_epilogue")) bn.epilogue = fmt::format("{}", fmt::join(a->strings, ","));
    if (bn.kind != "contraction") bn.source = ScheduleSource::kNotTunable;
    lowered.push_back({id, defs.size() - 1, bn.kernel});
    rep.nodes.push_back(bn);
  }
  if (!errors.empty()) {
    std::string list;
    for (size_t i = 0; i < errors.size() && i < 5; ++i) list += (i ? "; " : "") + errors[i];
    return Error(ErrorCode::kUnsupported, "{}: {} nodes cannot be lowered: {}{}", o.model_path, errors.size(), list,
                 errors.size() > 5 ? "; ..." : "");
  }
  rep.phase_s["choose+lower"] = Since(t);

  // Program: kernels (deduplicated by name), tensors, args and steps.
  ProgramSpec spec;
  std::map<std::string, int32_t> kernel_index;
  std::vector<CompileJob> jobs;
  std::map<ValueId, int32_t> tensor_of;
  auto tensor = [&](ValueId v) {
    if (auto it = tensor_of.find(v); it != tensor_of.end()) return it->second;
    const Value& val = g.value(v);
    spec.tensors.push_back({val.name, DTypeToOnnx(val.dtype), val.shape, 0, 0, Bytes(val)});
    return tensor_of[v] = static_cast<int32_t>(spec.tensors.size() - 1);
  };
  auto arg = [&](ValueId v, const lower::ArgView& view) {
    ProgramSpec::ArgEntry a{tensor(v), {}, {}};
    for (const auto& d : view.dims) {
      a.extents.push_back(d.extent);
      a.strides.push_back(d.stride);
    }
    return spec.AddArg(a);
  };
  for (const LoweredNode& ln : lowered) {
    const lower::KernelDef& def = defs[ln.def];
    auto [it, added] = kernel_index.emplace(ln.name, static_cast<int32_t>(spec.kernels.size()));
    if (added) {
      spec.kernels.push_back(ln.name);
      jobs.push_back({ln.name, &def, KernelCacheKey(ln.name)});
    }
    ProgramSpec::StepEntry step{it->second, {}, g.node(ln.node).name};
    for (size_t i = 0; i < def.inputs.size(); ++i) step.args.push_back(arg(def.input_values[i], def.input_views[i]));
    for (size_t i = 0; i < def.outputs.size(); ++i) step.args.push_back(arg(def.output_values[i], def.output_views[i]));
    spec.steps.push_back(std::move(step));
  }
  for (ValueId v : g.inputs())
    if (!g.value(v).constant) spec.inputs.push_back(tensor(v));
  for (ValueId v : g.outputs()) spec.outputs.push_back(tensor(v));
  rep.kernels = static_cast<int>(spec.kernels.size());

  // Lifetimes of arena roots (step indices), then the memory plan; constants go to the weights.
  std::map<ValueId, Lifetime> life;
  auto touch = [&](ValueId root, int step, bool write) {
    auto [it, added] = life.emplace(root, Lifetime{Bytes(g.value(root)), INT_MAX, -1});
    if (write) it->second.first = std::min(it->second.first, step);
    it->second.last = std::max(it->second.last, step);
  };
  for (size_t s = 0; s < lowered.size(); ++s) {
    const lower::KernelDef& def = defs[lowered[s].def];
    for (ValueId v : def.input_values)
      if (!g.value(storage.Root(v)).constant) touch(storage.Root(v), static_cast<int>(s), false);
    for (ValueId v : def.output_values) touch(storage.Root(v), static_cast<int>(s), true);
  }
  for (ValueId v : g.inputs())
    if (!g.value(v).constant) touch(storage.Root(v), -1, true);
  for (ValueId v : g.outputs())
    if (!g.value(storage.Root(v)).constant) touch(storage.Root(v), INT_MAX, false);
  std::vector<ValueId> roots;
  std::vector<Lifetime> lifetimes;
  for (auto& [root, l] : life) {
    if (l.first == INT_MAX) l.first = -1;  // read but never written: only possible for inputs
    roots.push_back(root);
    lifetimes.push_back(l);
  }
  MemoryPlan mp = PlanMemory(lifetimes);
  std::map<ValueId, int64_t> arena_offset;
  for (size_t i = 0; i < roots.size(); ++i) arena_offset[roots[i]] = mp.offsets[i];
  spec.arena_bytes = rep.arena_bytes = mp.arena_bytes;
  rep.arena_naive_bytes = mp.naive_bytes;

  std::string weights;
  std::map<ValueId, int64_t> weight_offset;
  for (auto& [v, index] : tensor_of) {
    const ValueId root = storage.Root(v);
    auto& te = spec.tensors[static_cast<size_t>(index)];
    if (const auto& c = g.value(root).constant) {
      auto [it, added] = weight_offset.emplace(root, 0);
      if (added) {
        weights.resize((weights.size() + 63) / 64 * 64, '\0');
        it->second = static_cast<int64_t>(weights.size());
        weights.append(reinterpret_cast<const char*>(c->raw()), c->nbytes());
      }
      te.storage = 1;
      te.offset = it->second;
    } else {
      te.storage = 0;
      te.offset = arena_offset.at(root);
    }
  }
  spec.weights_bytes = rep.weights_bytes = static_cast<int64_t>(weights.size());
  spec.weights_hash = opal_rt::Fnv1a64(weights.data(), weights.size());  // what the runtime checks
  spec.description = fmt::format("{} | {} | {} kernels", rep.model, target.ExactKey(), spec.kernels.size());

  // Compile and link.
  t = Clock::now();
  std::error_code ec;
  fs::create_directories(o.out_dir + "/src", ec);
  if (ec) return Error(ErrorCode::kIo, "cannot create {}: {}", o.out_dir, ec.message());
  CompileOptions co;
  co.obj_dir = o.out_dir + "/src";
  co.cache_dir = o.cache_dir == "off" ? "" : (o.cache_dir.empty() ? DefaultKernelCacheDir() : o.cache_dir);
  co.jobs = o.jobs > 0 ? o.jobs : std::max(1, target.cores);
  OPAL_ASSIGN_OR_RETURN(CompileOutcome compiled, CompileKernels(jobs, co));
  OPAL_ASSIGN_OR_RETURN(std::string runtime_obj, CompileHalideRuntime(co));
  rep.kernels_cached = compiled.cached;
  rep.phase_s["compile"] = Since(t);

  t = Clock::now();
  {
    std::ofstream w(o.out_dir + "/weights.bin", std::ios::binary | std::ios::trunc);
    w.write(weights.data(), static_cast<std::streamsize>(weights.size()));
    if (!w) return Error(ErrorCode::kIo, "cannot write {}/weights.bin", o.out_dir);
  }
  const std::string program = o.out_dir + "/src/program.cc";
  std::ofstream(program, std::ios::trunc) << GenerateProgramSource(spec);
  std::vector<std::string> objects = compiled.objects;
  objects.push_back(runtime_obj);
  OPAL_RETURN_IF_ERROR(LinkModelLibrary(program, objects, o.out_dir + "/libmodel.so"));
  rep.phase_s["link"] = Since(t);
  rep.total_s = Since(t0);
  std::ofstream(o.out_dir + "/manifest.json", std::ios::trunc) << rep.ToJson().dump(2) << "\n";
  return rep;
}

}  // namespace opal
