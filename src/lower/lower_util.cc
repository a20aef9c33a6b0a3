#include "lower/lower_util.h"

#include <fmt/format.h>

#include <limits>

namespace opal::lower {

using Halide::Expr;
using Halide::Func;
using Halide::Var;

Expr TensorRef::operator()(const std::vector<Expr>& idx) const {
  OPAL_CHECK(idx.size() == shape.size(), "index rank {} for a tensor of rank {}", idx.size(),
             shape.size());
  return f(HalideArgs(idx));
}

Expr TensorRef::Broadcast(const std::vector<Expr>& out) const {
  const size_t r = shape.size();
  OPAL_CHECK(out.size() >= r, "broadcast of rank {} to rank {}", r, out.size());
  std::vector<Expr> idx;
  for (size_t j = 0; j < r; ++j) {
    idx.push_back(shape[j] == 1 ? Expr(0) : out[out.size() - r + j]);
  }
  return (*this)(idx);
}

std::vector<Expr> HalideArgs(const std::vector<Expr>& onnx_idx) {
  return std::vector<Expr>(onnx_idx.rbegin(), onnx_idx.rend());
}
std::vector<Var> HalideArgs(const std::vector<Var>& onnx_vars) {
  return std::vector<Var>(onnx_vars.rbegin(), onnx_vars.rend());
}

std::vector<Var> MakeVars(int rank) {
  std::vector<Var> v;
  for (int i = 0; i < rank; ++i) v.emplace_back(fmt::format("d{}", i));
  return v;
}

std::vector<Expr> AsExprs(const std::vector<Var>& vars) {
  return std::vector<Expr>(vars.begin(), vars.end());
}

Result<int> NormAxis(int64_t axis, int rank, const Node& n) {
  if (axis < -rank || axis >= std::max(rank, 1)) {
    return Error(ErrorCode::kInvalidModel, "{}: axis {} out of range for rank {}", n.Describe(),
                 axis, rank);
  }
  return static_cast<int>(axis < 0 ? axis + rank : axis);
}

Expr ClampIndex(const Expr& i, int64_t extent) {
  return Halide::clamp(i, 0, static_cast<int>(std::max<int64_t>(extent - 1, 0)));
}

Expr LowestOf(const Halide::Type& t) {
  if (t.is_float()) return Halide::cast(t, Expr(-std::numeric_limits<double>::infinity()));
  return t.min();
}
Expr HighestOf(const Halide::Type& t) {
  if (t.is_float()) return Halide::cast(t, Expr(std::numeric_limits<double>::infinity()));
  return t.max();
}

Expr CastTo(DType t, const Expr& e) {
  if (t == DType::kBool) {
    if (e.type().is_bool()) return Halide::cast(Halide::UInt(8), e);
    return Halide::cast(Halide::UInt(8), e != Halide::Internal::make_zero(e.type()));
  }
  Result<Halide::Type> ht = HalideTypeOf(t);
  OPAL_CHECK(ht.ok(), "{}", ht.status().message());
  if (e.type().is_bool()) return Halide::cast(*ht, Halide::cast(Halide::UInt(8), e));
  return Halide::cast(*ht, e);
}

std::vector<int64_t> ConstInts(const Tensor& t) {
  std::vector<int64_t> v;
  for (int64_t i = 0; i < t.size(); ++i) v.push_back(t.GetInt(i));
  return v;
}

const Tensor* KernelBuilder::Constant(size_t i) const {
  return HasInput(i) ? InValue(i).constant.get() : nullptr;
}

Result<std::vector<int64_t>> KernelBuilder::ConstantInts(size_t i, const std::string& what) const {
  const Tensor* t = Constant(i);
  if (!t) return Unsupported(fmt::format("a non-constant {} input", what));
  return ConstInts(*t);
}

Result<TensorRef> KernelBuilder::Input(size_t i) {
  if (!HasInput(i)) {
    return Error(ErrorCode::kInvalidModel, "{}: input {} is missing", n_.Describe(), i);
  }
  return InputAs(i, InShape(i));
}

Result<TensorRef> KernelBuilder::InputAs(size_t i, const Shape& shape) {
  if (!HasInput(i)) {
    return Error(ErrorCode::kInvalidModel, "{}: input {} is missing", n_.Describe(), i);
  }
  const ValueId id = n_.inputs[i];
  for (size_t k = 0; k < def_.input_values.size(); ++k) {
    if (def_.input_values[k] == id && refs_[k].shape == shape) return refs_[k];
  }
  const Value& v = g_.value(id);
  OPAL_CHECK(NumElements(shape) == NumElements(v.shape), "{}: input {} read as {} elements, has {}",
             n_.Describe(), i, NumElements(shape), NumElements(v.shape));
  auto t = HalideTypeOf(v.dtype);
  if (!t.ok()) return Unsupported(fmt::format("input {} of type {}", i, DTypeName(v.dtype)));
  Halide::ImageParam p(*t, static_cast<int>(shape.size()), fmt::format("in{}", def_.inputs.size()));
  ArgView view = DenseView(shape);
  ConstrainView(p, view);
  def_.inputs.push_back(p);
  def_.input_values.push_back(id);
  def_.input_views.push_back(view);
  refs_.push_back(TensorRef{Func(p), shape, *t});
  return refs_.back();
}

void KernelBuilder::SetOutputUnscheduled(size_t i, Func f) {
  const ArgView view = DenseView(OutShape(i));
  // Bounds and strides only: outputs may be views into a larger arena.
  for (size_t d = 0; d < view.dims.size(); ++d) {
    f.output_buffer()
        .dim(static_cast<int>(d))
        .set_bounds(0, static_cast<int>(view.dims[d].extent))
        .set_stride(static_cast<int>(view.dims[d].stride));
  }
  def_.outputs.push_back(f);
  def_.output_values.push_back(n_.outputs[i]);
  def_.output_views.push_back(view);
}

Halide::LoopLevel KernelBuilder::SetOutput(size_t i, Func f) {
  SetOutputUnscheduled(i, f);
  const Shape& s = OutShape(i);

  const int r = static_cast<int>(s.size());
  if (r == 0) return Halide::LoopLevel::root();
  std::vector<Var> args = f.args();
  const int64_t total = NumElements(s);
  // Rows narrower than a native vector (14- and 7-wide planes) get the widest power-of-two
  // vector that fits (at least 4 lanes), the last one shifted inwards over the row's end.
  int lanes = o_.vector_lanes;
  while (lanes > 4 && s.back() < lanes) lanes /= 2;
  if (lanes > 1 && s.back() >= lanes && total >= 2 * lanes) f.vectorize(args[0], lanes);
  if (r == 1) return Halide::LoopLevel::root();
  Var outer = args[1];
  for (int d = 2; d < r; ++d) {
    Var fused(fmt::format("fused{}", d));
    f.fuse(outer, args[d], fused);
    outer = fused;
  }
  // Parallel tasks of whole rows, at least kTaskElems elements each (a few per core at most), so
  // a task's work dwarfs the cost of handing it out.
  constexpr int64_t kTaskElems = 16384;
  const int64_t rows = total / std::max<int64_t>(1, s.back());
  const int64_t tasks = std::min<int64_t>(rows, std::min<int64_t>(total / kTaskElems, 32));
  if (tasks < 2) return Halide::LoopLevel(f, outer);
  const int64_t per_task = (rows + tasks - 1) / tasks;
  if (per_task > 1) {
    Var task("task"), row("row");
    f.split(outer, task, row, static_cast<int>(per_task));
    f.parallel(task);
    return Halide::LoopLevel(f, row);
  }
  f.parallel(outer);
  return Halide::LoopLevel(f, outer);
}

Status KernelBuilder::Unsupported(const std::string& what) const {
  return Error(ErrorCode::kUnsupported, "{}: {} is not supported by the lowering", n_.Describe(),
               what);
}

Result<KernelDef> KernelBuilder::Finish() {
  for (size_t i = 0; i < n_.outputs.size(); ++i) {
    if (!HasOutput(i)) continue;
    bool set = false;
    for (ValueId v : def_.output_values) set = set || v == n_.outputs[i];
    OPAL_CHECK(set, "{}: output {} was not lowered", n_.Describe(), i);
  }
  return std::move(def_);
}

}  // namespace opal::lower
