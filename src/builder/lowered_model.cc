// The middle steps of a build (lowered_model.h): schedules and lowering, program assembly, the
// placement of every tensor.
#include "builder/lowered_model.h"

#include <fmt/format.h>

#include <climits>
#include <optional>

#include "builder/kernel_key.h"
#include "builder/memory_plan.h"
#include "opal/tasks.h"
#include "runtime/weights_file.h"
#include "tune/contraction.h"
#include "tune/contraction_space.h"

namespace opal::build {
namespace {

// A config may read its weights (input 1) re-laid out ahead of time (tune::PackedWeightsShape: a
// conv's channel panels with chan 1, a dense B's column panels with pack_b 3). When the weights
// are a constant of the model, the packed copy is a new constant value (it goes to weights.bin,
// packed once at build time) and the kernel reads that; kNoValue otherwise (the kernel then reads
// the given layout, correct but slower).
ValueId PackedWeights(Graph& g, const Node& n, const Workload& w, const Config& config) {
  const tune::ContractionKnobs kn = tune::ContractionKnobs::From(config);
  const std::vector<int64_t> shape = tune::PackedWeightsShape(w, kn);
  if (shape.empty() || n.inputs.size() < 2) return kNoValue;
  const std::shared_ptr<const Tensor> src = g.value(n.inputs[1]).constant;
  if (!src || src->dtype() != DType::kFloat32) return kNoValue;
  auto packed = std::make_shared<Tensor>(DType::kFloat32, Shape(shape.begin(), shape.end()));
  tune::PackWeights(w, kn, src->data<float>(), packed->data<float>());
  Value v;
  v.name = g.value(n.inputs[1]).name + (tune::UsesChan(w, kn) ? ".packed_by_channel" : ".packed_panels");
  v.dtype = DType::kFloat32;
  v.shape = packed->shape();
  v.shape_known = true;
  v.constant = std::move(packed);
  v.is_initializer = true;
  return g.AddValue(std::move(v));
}

BuiltNode Built(const Node& n, std::string kernel, std::string kind) {
  BuiltNode b;
  b.node = n.name;
  b.op_type = n.op_type;
  b.kernel = std::move(kernel);
  b.kind = std::move(kind);
  return b;
}

int64_t Bytes(const Value& v) { return NumElements(v.shape) * static_cast<int64_t>(DTypeSize(v.dtype)); }

}  // namespace

Result<LoweredModel> ChooseAndLower(Graph& g, ScheduleChooser& chooser, const Target& target,
                                    const std::string& model_path, BuildReport* report) {
  lower::LowerOptions lo;
  lo.vector_lanes = std::max(4, target.VectorBits() / 32);
  lo.target = &target;
  LoweredModel lm(g);
  std::vector<std::string> errors;
  // Views alias their input's storage (in node order, so chains of views reach the root).
  for (NodeId id = 0; id < static_cast<NodeId>(g.num_nodes()); ++id) {
    const Node& n = g.node(id);
    if (!lower::IsAliasNode(g, n)) continue;
    bool all_const = true;
    for (ValueId v : n.outputs) all_const = all_const && (v == kNoValue || g.value(v).constant);
    if (all_const) continue;
    lm.storage.Alias(n.outputs[0], n.inputs[0]);
    report->nodes.push_back(Built(n, "", "view"));
  }
  const std::vector<lower::KernelGroup> groups = lower::PlanKernelGroups(g);
  for (const lower::KernelGroup& grp : groups) {
    const NodeId id = grp.anchor;
    const Node& n = g.node(id);
    if (!grp.fused() && lm.storage.PlaceConcatInPlace(id)) {  // its inputs are written into its slices
      report->nodes.push_back(Built(n, "", "in-place"));
      continue;
    }
    if (!grp.fused() && lm.storage.PlaceSliceAsView(id)) {  // a contiguous range of its input
      report->nodes.push_back(Built(n, "", "view"));
      continue;
    }
    BuiltNode bn = Built(n, "", "");
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
    lo.group = &grp;
    if (choice) bn.config = choice->config.CanonicalJson();
    if (lo.packed_weights != kNoValue)
      bn.schedule_note += std::string(bn.schedule_note.empty() ? "" : "; ") + "weights packed at build time";
    auto def = lower::LowerNode(g, n, lo);
    if (!def.ok()) {
      errors.push_back(def.status().message());
      continue;
    }
    lm.defs.push_back(std::move(*def));
    const std::string desc = DescribeKernel(g, grp, lm.defs.back(), lo.config);
    bn.kernel = KernelName(desc);
    bn.kind = lm.defs.back().kind;
    std::string label = n.name;
    for (size_t m = 1; m < grp.members.size(); ++m) {
      const Node& f = g.node(grp.members[m]);
      bn.epilogue += (m > 1 ? "," : "") + f.op_type;
      if (label.size() < 200) label += "," + f.name;
    }
    if (bn.kind != "contraction") bn.source = ScheduleSource::kNotTunable;
    lm.steps.push_back({id, lm.defs.size() - 1, bn.kernel, label});
    report->nodes.push_back(bn);
    for (size_t m = 1; m < grp.members.size(); ++m) {
      const Node& f = g.node(grp.members[m]);
      BuiltNode fn = Built(f, bn.kernel, "fused");
      fn.fused_into = n.name;
      report->nodes.push_back(fn);
    }
  }
  if (!errors.empty()) {
    std::string list;
    for (size_t i = 0; i < errors.size() && i < 5; ++i) list += (i ? "; " : "") + errors[i];
    return Error(ErrorCode::kUnsupported, "{}: {} nodes cannot be lowered: {}{}", model_path, errors.size(), list,
                 errors.size() > 5 ? "; ..." : "");
  }
  return lm;
}

ProgramSpec AssembleProgram(const Graph& g, const LoweredModel& lm, std::vector<CompileJob>* jobs,
                            std::map<ValueId, int32_t>* tensor_of) {
  ProgramSpec spec;
  std::map<std::string, int32_t> kernel_index;
  std::map<ValueId, int32_t>& tensors = *tensor_of;
  auto tensor = [&](ValueId v) {
    if (auto it = tensors.find(v); it != tensors.end()) return it->second;
    const Value& val = g.value(v);
    spec.tensors.push_back({val.name, DTypeToOnnx(val.dtype), val.shape, 0, 0, Bytes(val)});
    return tensors[v] = static_cast<int32_t>(spec.tensors.size() - 1);
  };
  auto arg = [&](ValueId v, const lower::ArgView& view) {
    ProgramSpec::ArgEntry a{tensor(v), {}, {}};
    for (const auto& d : view.dims) {
      a.extents.push_back(d.extent);
      a.strides.push_back(d.stride);
    }
    return spec.AddArg(a);
  };
  for (const LoweredNode& ln : lm.steps) {
    const lower::KernelDef& def = lm.defs[ln.def];
    auto [it, added] = kernel_index.emplace(ln.name, static_cast<int32_t>(spec.kernels.size()));
    if (added) {
      spec.kernels.push_back(ln.name);
      jobs->push_back({ln.name, &def, KernelCacheKey(ln.name)});
    }
    ProgramSpec::StepEntry step{it->second, {}, ln.label};
    for (size_t i = 0; i < def.inputs.size(); ++i) step.args.push_back(arg(def.input_values[i], def.input_views[i]));
    for (size_t i = 0; i < def.outputs.size(); ++i) step.args.push_back(arg(def.output_values[i], def.output_views[i]));
    spec.steps.push_back(std::move(step));
  }
  for (ValueId v : g.inputs())
    if (!g.value(v).constant) spec.inputs.push_back(tensor(v));
  for (ValueId v : g.outputs()) spec.outputs.push_back(tensor(v));
  return spec;
}

std::string PlaceTensors(const Graph& g, const LoweredModel& lm, const std::map<ValueId, int32_t>& tensor_of,
                         ProgramSpec* spec, BuildReport* report) {
  std::map<ValueId, Lifetime> life;
  auto touch = [&](ValueId root, int step, bool write) {
    auto [it, added] = life.emplace(root, Lifetime{lm.storage.RootBytes(root), INT_MAX, -1});
    if (write) it->second.first = std::min(it->second.first, step);
    it->second.last = std::max(it->second.last, step);
  };
  for (size_t s = 0; s < lm.steps.size(); ++s) {
    const lower::KernelDef& def = lm.defs[lm.steps[s].def];
    for (ValueId v : def.input_values)
      if (!g.value(lm.storage.Root(v)).constant) touch(lm.storage.Root(v), static_cast<int>(s), false);
    for (ValueId v : def.output_values) touch(lm.storage.Root(v), static_cast<int>(s), true);
  }
  for (ValueId v : g.inputs())
    if (!g.value(v).constant) touch(lm.storage.Root(v), -1, true);
  for (ValueId v : g.outputs())
    if (!g.value(lm.storage.Root(v)).constant) touch(lm.storage.Root(v), INT_MAX, false);
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
  spec->arena_bytes = report->arena_bytes = mp.arena_bytes;
  report->arena_naive_bytes = mp.naive_bytes;

  std::string weights;
  std::map<ValueId, int64_t> weight_offset;
  for (const auto& [v, index] : tensor_of) {
    const ValueId root = lm.storage.Root(v);
    auto& te = spec->tensors[static_cast<size_t>(index)];
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
      te.offset = arena_offset.at(root) + lm.storage.Offset(v);
    }
  }
  spec->weights_bytes = report->weights_bytes = static_cast<int64_t>(weights.size());
  spec->weights_hash = opal_rt::Fnv1a64(weights.data(), weights.size());  // what the runtime checks
  return weights;
}

}  // namespace opal::build
