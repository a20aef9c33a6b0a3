// Conv / Gemm / MatMul nodes with a workload: the tuned contraction template (src/tune) with the
// node's element-wise epilogue (lower_epilogue.h) computed in the kernel's output stage.
// Depthwise convolutions go to their own kernel (lower_depthwise.h).
#include "lower/lower_depthwise.h"
#include "lower/lower_epilogue.h"
#include "lower/lowering.h"
#include "opal/tasks.h"
#include "tune/contraction.h"
#include "tune/contraction_halide.h"
#include "tune/contraction_space.h"

namespace opal::lower {
namespace {

using Halide::Expr;
using Halide::Var;

ArgView ToArgView(const tune::HalideView& v) {
  ArgView a;
  for (const tune::HalideDim& d : v) a.dims.push_back({d.extent, d.stride});
  return a;
}

// Output coordinates of the contraction's (x, y, b) along each ONNX axis of the output, computed
// only for the axes an epilogue operand actually varies along.
class OutputCoords {
 public:
  OutputCoords(const Workload& w, const Shape& out, Var x, Var y, Var b)
      : w_(w), out_(out), x_(x), y_(y), b_(b) {}

  Expr Axis(size_t axis) const {
    const int r = static_cast<int>(out_.size());
    const int a = static_cast<int>(axis);
    if (w_.op() == "conv2d") {
      const int G = static_cast<int>(w_.Get("groups")), ny = static_cast<int>(w_.Get("k") / G);
      const int OW = static_cast<int>(tune::ConvOutW(w_));
      if (a == 0) return G > 1 ? b_ / G : Expr(b_);
      if (a == 1) return G > 1 ? (b_ % G) * ny + y_ : Expr(y_);
      if (r == 4 && a == 2) return x_ / OW;
      return r == 4 ? x_ % OW : Expr(x_);
    }
    if (a == r - 1) return x_;
    if (w_.op() == "dense") return Unravel(y_, a, r - 1);  // y runs over the leading axes
    if (a == r - 2) return y_;
    return Unravel(b_, a, r - 2);  // batch_matmul: b runs over the batch axes
  }

 private:
  // Coordinate along `axis` of flat index e over out_[0 .. end).
  Expr Unravel(Expr e, int axis, int end) const {
    int64_t inner = 1;
    for (int i = axis + 1; i < end; ++i) inner *= out_[static_cast<size_t>(i)];
    Expr q = inner > 1 ? e / static_cast<int>(inner) : e;
    return axis == 0 ? q : q % static_cast<int>(out_[static_cast<size_t>(axis)]);
  }

  const Workload& w_;
  const Shape& out_;
  Var x_, y_, b_;
};

}  // namespace

Result<KernelDef> LowerContractionNode(const Graph& g, const Node& n, const LowerOptions& o) {
  auto wl = WorkloadOfNode(g, n);
  if (!wl.ok())
    return Error(ErrorCode::kUnsupported, "{}: no contraction workload: {}", n.Describe(), wl.status().message());
  if (!wl->has_value() || !tune::SupportedWorkload(**wl))
    return Error(ErrorCode::kUnsupported, "{}: not a contraction the template supports", n.Describe());
  const Workload w = **wl;
  if (tune::IsDepthwiseConv(w)) return LowerDepthwiseConv(g, n, w, o);
  const Target target = o.target ? *o.target : Target::DetectHost();
  const Config config = o.config ? *o.config : tune::ContractionDefault(w, target);
  const Shape& out_shape = g.value(n.outputs[0]).shape;
  const tune::Contraction c = tune::ContractionOf(w);
  const tune::HalideView out_view = {{c.nx, 1}, {c.ny, c.nx}, {c.nb, c.nx * c.ny}};

  KernelDef def;
  def.kind = "contraction";
  Status epi_status = Status::Ok();
  tune::ContractionOptions co;
  co.weights_as_given = o.packed_weights == kNoValue;
  co.epilogue = [&](Expr acc, Var x, Var y, Var b) -> Expr {
    OutputCoords at(w, out_shape, x, y, b);
    EpilogueSite site{[&](size_t axis) { return at.Axis(axis); }, ToArgView(out_view), {x, y, b}};
    auto e = ApplyEpilogue(g, n, acc, site, o.group, &def);
    if (!e.ok()) {
      epi_status = e.status();
      return acc;
    }
    return *e;
  };
  OPAL_ASSIGN_OR_RETURN(tune::ContractionFuncs f, tune::DefineContraction(w, config, co));
  OPAL_RETURN_IF_ERROR(epi_status.WithContext(n.Describe()));
  // The template's operands come first (conv: input, weights; dense/batch_matmul: A, B).
  std::vector<Halide::ImageParam> params = f.params;
  std::vector<ArgView> views;
  for (const auto& v : f.views) views.push_back(ToArgView(v));
  params.insert(params.end(), def.inputs.begin(), def.inputs.end());
  views.insert(views.end(), def.input_views.begin(), def.input_views.end());
  std::vector<ValueId> values = {n.inputs[0], o.packed_weights != kNoValue ? o.packed_weights : n.inputs[1]};
  values.insert(values.end(), def.input_values.begin(), def.input_values.end());
  def.inputs = std::move(params);
  def.input_views = std::move(views);
  def.input_values = std::move(values);
  def.outputs = {f.out};
  def.output_values = {o.group ? o.group->output : n.outputs[0]};
  def.output_views = {ToArgView(out_view)};
  return def;
}

}  // namespace opal::lower
