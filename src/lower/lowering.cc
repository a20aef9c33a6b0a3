// The shared conventions of lowering.h and the dispatch of LowerNode to the op families.
#include "lower/lowering.h"

#include <map>

#include "lower/lower_elementwise.h"
#include "lower/lower_generic_matmul.h"
#include "lower/lower_pool.h"
#include "lower/lower_reduce.h"
#include "lower/lower_resize.h"
#include "lower/lower_shape.h"
#include "lower/lower_util.h"

namespace opal::lower {

ArgView DenseView(const Shape& shape) {
  ArgView v;
  int64_t stride = 1;
  for (auto it = shape.rbegin(); it != shape.rend(); ++it) {
    v.dims.push_back({*it, stride});
    stride *= *it;
  }
  return v;
}

void ConstrainView(Halide::OutputImageParam p, const ArgView& v) {
  p.set_host_alignment(64);
  for (size_t i = 0; i < v.dims.size(); ++i) {
    p.dim(static_cast<int>(i))
        .set_bounds(0, static_cast<int>(v.dims[i].extent))
        .set_stride(static_cast<int>(v.dims[i].stride));
  }
}

Result<Halide::Type> HalideTypeOf(DType t) {
  switch (t) {
    case DType::kFloat32:
      return Halide::Float(32);
    case DType::kFloat64:
      return Halide::Float(64);
    case DType::kInt8:
      return Halide::Int(8);
    case DType::kInt16:
      return Halide::Int(16);
    case DType::kInt32:
      return Halide::Int(32);
    case DType::kInt64:
      return Halide::Int(64);
    case DType::kUInt8:
      return Halide::UInt(8);
    case DType::kUInt16:
      return Halide::UInt(16);
    case DType::kUInt32:
      return Halide::UInt(32);
    case DType::kUInt64:
      return Halide::UInt(64);
    case DType::kBool:
      return Halide::UInt(8);
    default:
      return Error(ErrorCode::kUnsupported, "element type {} has no Halide lowering", DTypeName(t));
  }
}

namespace {

// A Transpose that moves only dims of extent 1 (the others keep their order) changes no byte: at
// batch 1, sequence-first attention's [s, 1, d] <-> [1, s, d].
bool IsByteIdentityTranspose(const Graph& g, const Node& n) {
  if (n.op_type != "Transpose" || n.inputs.empty() || n.inputs[0] == kNoValue) return false;
  const Value& in = g.value(n.inputs[0]);
  if (!in.shape_known) return false;
  const int r = static_cast<int>(in.shape.size());
  std::vector<int64_t> perm = n.attrs.GetInts("perm", {});
  if (perm.empty())
    for (int d = r - 1; d >= 0; --d) perm.push_back(d);
  if (static_cast<int>(perm.size()) != r) return false;
  int64_t last = -1;
  for (int64_t p : perm) {
    if (p < 0 || p >= r) return false;
    if (in.shape[static_cast<size_t>(p)] == 1) continue;
    if (p < last) return false;
    last = p;
  }
  return true;
}

}  // namespace

bool DropoutPassesThrough(const Graph& g, const Node& n) {
  auto constant = [&](size_t i) -> const Tensor* {
    return i < n.inputs.size() && n.inputs[i] != kNoValue ? g.value(n.inputs[i]).constant.get() : nullptr;
  };
  const bool has_mode = n.inputs.size() > 2 && n.inputs[2] != kNoValue;
  const Tensor* mode = constant(2);
  if (!has_mode || (mode && mode->size() == 1 && mode->GetInt(0) == 0)) return true;
  const Tensor* ratio = constant(1);
  return ratio && ratio->size() == 1 && ratio->GetDouble(0) == 0;
}

bool IsAliasNode(const Graph& g, const Node& n) {
  static const char* kOps[] = {"Identity", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Dropout"};
  bool listed = IsByteIdentityTranspose(g, n);
  for (const char* op : kOps) listed = listed || n.op_type == op;
  if (!listed || !n.domain.empty() || n.inputs.empty() || n.inputs[0] == kNoValue) return false;
  if (n.outputs.empty() || n.outputs[0] == kNoValue) return false;
  for (size_t i = 1; i < n.outputs.size(); ++i) {
    if (n.outputs[i] != kNoValue) return false;  // Dropout's mask wants a kernel
  }
  if (n.op_type == "Dropout" && !DropoutPassesThrough(g, n)) return false;
  const Value& in = g.value(n.inputs[0]);
  const Value& out = g.value(n.outputs[0]);
  return in.shape_known && out.shape_known && in.dtype == out.dtype &&
         NumElements(in.shape) == NumElements(out.shape);
}

namespace {

using LowerFn = Result<KernelDef> (*)(KernelBuilder&);

const std::map<std::string, LowerFn>& Families() {
  static const std::map<std::string, LowerFn> table = [] {
    std::map<std::string, LowerFn> t;
    for (const auto& op : ElementwiseOps()) t[op] = LowerElementwise;
    for (const auto& op : ReduceOps()) t[op] = LowerReduce;
    for (const auto& op : PoolOps()) t[op] = LowerPool;
    for (const auto& op : ShapeOps()) t[op] = LowerShape;
    for (const auto& op : ResizeOps()) t[op] = LowerResize;
    for (const auto& op : GenericContractionOps()) t[op] = LowerGenericContraction;
    return t;
  }();
  return table;
}

}  // namespace

Result<KernelDef> LowerNode(const Graph& g, const Node& n, const LowerOptions& o) {
  if (!n.domain.empty() && n.domain != "ai.onnx") {
    return Error(ErrorCode::kUnsupported, "{}: operators of domain '{}' have no lowering",
                 n.Describe(), n.domain);
  }
  for (ValueId id : n.inputs) {
    if (id != kNoValue && !g.value(id).shape_known) {
      return Error(ErrorCode::kUnsupported, "{}: input '{}' has an unknown shape ({})",
                   n.Describe(), g.value(id).name, g.value(id).unknown_reason);
    }
  }
  for (ValueId id : n.outputs) {
    if (id != kNoValue && !g.value(id).shape_known) {
      return Error(ErrorCode::kUnsupported, "{}: output '{}' has an unknown shape ({})",
                   n.Describe(), g.value(id).name, g.value(id).unknown_reason);
    }
  }
  const bool grouped = o.group && o.group->fused();
  if (n.op_type == "Conv" || n.op_type == "Gemm" || n.op_type == "MatMul") {
    Result<KernelDef> k = LowerContractionNode(g, n, o);
    if (k.ok() || k.status().code() != ErrorCode::kUnsupported || grouped) return k;
  }
  if (grouped) {
    try {
      return LowerPointwiseGroup(g, *o.group, o);
    } catch (const Halide::Error& e) {
      return Error(ErrorCode::kInternal, "{}: Halide rejected the fused kernel: {}", n.Describe(),
                   std::string(e.what()).substr(0, 300));
    }
  }
  auto it = Families().find(n.op_type);
  if (it == Families().end()) {
    return Error(ErrorCode::kUnsupported, "{}: operator {} has no lowering", n.Describe(),
                 n.op_type);
  }
  try {
    KernelBuilder b(g, n, o, "");
    return it->second(b);
  } catch (const Halide::Error& e) {
    return Error(ErrorCode::kInternal, "{}: Halide rejected the lowering: {}", n.Describe(),
                 std::string(e.what()).substr(0, 300));
  }
}

}  // namespace opal::lower
