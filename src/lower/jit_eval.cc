#include "lower/jit_eval.h"

#include "tune/halide_target.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>

namespace opal::lower {
namespace {

// The storage of one value: aligned bytes, possibly shared with an alias.
struct Storage {
  std::shared_ptr<uint8_t> data;
  DType dtype = DType::kUndefined;
  Shape shape;
};

Storage Allocate(DType dtype, const Shape& shape) {
  size_t bytes = static_cast<size_t>(NumElements(shape)) * DTypeSize(dtype);
  bytes = (bytes + 63) / 64 * 64;
  if (bytes == 0) bytes = 64;
  auto* p = static_cast<uint8_t*>(std::aligned_alloc(64, bytes));
  OPAL_CHECK(p != nullptr, "out of memory allocating {} bytes", bytes);
  std::memset(p, 0, bytes);
  return Storage{std::shared_ptr<uint8_t>(p, [](uint8_t* q) { std::free(q); }), dtype, shape};
}

Storage FromTensor(const Tensor& t) {
  Storage s = Allocate(t.dtype(), t.shape());
  if (t.nbytes() > 0) std::memcpy(s.data.get(), t.raw(), t.nbytes());
  return s;
}

// The storage seen through a kernel argument's view (dims innermost first).
Halide::Buffer<> Wrap(const Storage& s, const ArgView& view) {
  Result<Halide::Type> t = HalideTypeOf(s.dtype);
  OPAL_CHECK(t.ok(), "{}", t.status().message());
  std::vector<halide_dimension_t> dims;
  for (const ArgView::Dim& d : view.dims) {
    dims.emplace_back(0, static_cast<int32_t>(d.extent), static_cast<int32_t>(d.stride));
  }
  return Halide::Buffer<>(*t, s.data.get(), static_cast<int>(dims.size()), dims.data());
}

const Halide::Target& JitTarget() { return tune::HostHalideTarget(); }

std::string FirstLines(const std::string& s) {
  std::string t = s;
  for (char& c : t) c = c == '\n' ? ' ' : c;
  return t.size() > 400 ? t.substr(0, 400) : t;
}

}  // namespace

Result<std::vector<Tensor>> EvaluateGraphJit(const Graph& g, const std::vector<Tensor>& inputs,
                                             const LowerOptions& options, JitEvalStats* stats,
                                             const NodeLowering& lowering, bool fuse) {
  JitEvalStats local;
  if (!stats) stats = &local;
  std::vector<std::optional<Storage>> store(g.num_values());
  if (inputs.size() != g.inputs().size()) {
    return Error(ErrorCode::kInvalidArgument, "graph has {} inputs, {} given", g.inputs().size(),
                 inputs.size());
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Value& v = g.value(g.inputs()[i]);
    if (inputs[i].dtype() != v.dtype || inputs[i].shape() != v.shape) {
      return Error(ErrorCode::kInvalidArgument, "input '{}' wants {} {}, got {} {}", v.name,
                   DTypeName(v.dtype), ShapeToString(v.shape), DTypeName(inputs[i].dtype()),
                   ShapeToString(inputs[i].shape()));
    }
    store[g.inputs()[i]] = FromTensor(inputs[i]);
  }
  auto get = [&](ValueId id) -> Result<Storage> {
    if (!store[id]) {
      const Value& v = g.value(id);
      if (!v.constant) {
        return Error(ErrorCode::kInternal, "value '{}' is read before it is computed", v.name);
      }
      if (!HalideTypeOf(v.constant->dtype()).ok()) {
        return Error(ErrorCode::kUnsupported, "constant '{}' has type {}", v.name,
                     DTypeName(v.constant->dtype()));
      }
      store[id] = FromTensor(*v.constant);
    }
    return *store[id];
  };

  // Kernels run as the builder runs them: one per kernel group, where its last member stands.
  const std::vector<KernelGroup> groups = PlanKernelGroups(g, fuse && !lowering);
  std::vector<int> group_ending_at(g.num_nodes(), -1);
  for (size_t k = 0; k < groups.size(); ++k) group_ending_at[static_cast<size_t>(groups[k].members.back())] = static_cast<int>(k);
  for (NodeId id = 0; id < static_cast<NodeId>(g.num_nodes()); ++id) {
    const Node& n = g.node(id);
    bool all_constant = true;
    for (ValueId v : n.outputs)
      all_constant = all_constant && (v == kNoValue || g.value(v).constant);
    if (all_constant) {
      ++stats->skipped;
      continue;
    }
    if (IsAliasNode(g, n)) {
      OPAL_ASSIGN_OR_RETURN(Storage in, get(n.inputs[0]));
      const Value& out = g.value(n.outputs[0]);
      store[n.outputs[0]] = Storage{in.data, out.dtype, out.shape};
      ++stats->aliases;
      continue;
    }
    const int gi = group_ending_at[static_cast<size_t>(id)];
    if (gi < 0) continue;  // fused into a kernel that runs later
    const KernelGroup& grp = groups[static_cast<size_t>(gi)];
    LowerOptions o = options;
    o.group = &grp;
    const Node& anchor = g.node(grp.anchor);
    OPAL_ASSIGN_OR_RETURN(KernelDef k, lowering ? lowering(g, anchor, o) : LowerNode(g, anchor, o));
    stats->fused += static_cast<int>(grp.members.size()) - 1;
    if (std::getenv("OPAL_JIT_TRACE")) std::fprintf(stderr, "jit: %s\n", anchor.Describe().c_str());
    try {
      for (size_t i = 0; i < k.inputs.size(); ++i) {
        OPAL_ASSIGN_OR_RETURN(Storage s, get(k.input_values[i]));
        k.inputs[i].set(Wrap(s, k.input_views[i]));
      }
      std::vector<Halide::Buffer<>> outs;
      for (size_t i = 0; i < k.output_values.size(); ++i) {
        const Value& v = g.value(k.output_values[i]);
        store[k.output_values[i]] = Allocate(v.dtype, v.shape);
        outs.push_back(Wrap(*store[k.output_values[i]], k.output_views[i]));
      }
      Halide::Pipeline p(k.outputs);
      Halide::Realization r(outs);
      p.realize(r, JitTarget());
    } catch (const Halide::Error& e) {
      return Error(ErrorCode::kFailed, "{}: Halide failed: {}", anchor.Describe(), FirstLines(e.what()));
    }
    ++stats->kernels;
  }

  std::vector<Tensor> result;
  for (ValueId id : g.outputs()) {
    OPAL_ASSIGN_OR_RETURN(Storage s, get(id));
    Tensor t(s.dtype, s.shape);
    if (t.nbytes() > 0) std::memcpy(t.raw(), s.data.get(), t.nbytes());
    result.push_back(std::move(t));
  }
  return result;
}

}  // namespace opal::lower
