// Conv / Gemm / MatMul nodes with a workload: the tuned contraction template (src/tune) with the
// node's element-wise epilogue (Conv bias, Gemm alpha and beta*C, the steps of "opal_epilogue"
// from passes/passes.h) computed in the kernel's output stage.
#include <cmath>
#include <cstdlib>

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

// Epilogue operands appended to the kernel's params.
struct EpilogueOperands {
  KernelDef* def;
  const Graph* g;
  const Shape* out_shape;
  tune::HalideView out_view;
  int count = 0;

  // A Conv bias: a vector along the channel axis (1) of the output.
  Result<Expr> ReadChannel(ValueId id, const OutputCoords& at) {
    const Value& v = g->value(id);
    if (v.dtype != DType::kFloat32 || v.shape.size() != 1)
      return Error(ErrorCode::kInternal, "bias '{}' is not a float32 vector", v.name);
    Halide::ImageParam p(Halide::Float(32), 1, "bias");
    ArgView view = DenseView(v.shape);
    ConstrainView(p, view);
    def->inputs.push_back(p);
    def->input_values.push_back(id);
    def->input_views.push_back(view);
    return p(at.Axis(1));
  }

  // The value `id` broadcast to the output, read at the current output element.
  Result<Expr> Read(ValueId id, const OutputCoords& at, Var x, Var y, Var b) {
    const Value& v = g->value(id);
    if (v.dtype != DType::kFloat32)
      return Error(ErrorCode::kInternal, "epilogue operand '{}' is {}, not float32", v.name,
                   DTypeName(v.dtype));
    if (v.shape.size() > out_shape->size())
      return Error(ErrorCode::kInternal, "epilogue operand '{}' has a higher rank than the output",
                   v.name);
    std::string pname = "epi" + std::to_string(count++);
    if (v.shape == *out_shape) {  // same layout as the output: read it through the output's view
      Halide::ImageParam p(Halide::Float(32), static_cast<int>(out_view.size()), pname);
      ArgView view = ToArgView(out_view);
      ConstrainView(p, view);
      def->inputs.push_back(p);
      def->input_values.push_back(id);
      def->input_views.push_back(view);
      return p(x, y, b);
    }
    const size_t r = out_shape->size(), rv = v.shape.size();
    std::vector<Expr> idx;  // Halide order: innermost first
    for (size_t j = 0; j < rv; ++j) {
      const size_t onnx_axis = rv - 1 - j, out_axis = r - 1 - j;
      const int64_t d = v.shape[onnx_axis];
      if (d != 1 && d != (*out_shape)[out_axis])
        return Error(ErrorCode::kInternal, "epilogue operand '{}' does not broadcast to {}",
                     v.name, ShapeToString(*out_shape));
      idx.push_back(d == 1 ? Expr(0) : at.Axis(out_axis));
    }
    Halide::ImageParam p(Halide::Float(32), static_cast<int>(rv), pname);
    ArgView view = DenseView(v.shape);
    ConstrainView(p, view);
    def->inputs.push_back(p);
    def->input_values.push_back(id);
    def->input_views.push_back(view);
    return rv == 0 ? p() : p(idx);
  }
};

float ParseBound(const std::string& s) {
  if (s == "-inf") return -INFINITY;
  if (s == "inf") return INFINITY;
  return std::strtof(s.c_str(), nullptr);
}

}  // namespace

Result<KernelDef> LowerContractionNode(const Graph& g, const Node& n, const LowerOptions& o) {
  auto wl = WorkloadOfNode(g, n);
  if (!wl.ok())
    return Error(ErrorCode::kUnsupported, "{}: no contraction workload: {}", n.Describe(), wl.status().message());
  if (!wl->has_value() || !tune::SupportedWorkload(**wl))
    return Error(ErrorCode::kUnsupported, "{}: not a contraction the template supports", n.Describe());
  const Workload w = **wl;
  const Target target = o.target ? *o.target : Target::DetectHost();
  const Config config = o.config ? *o.config : tune::ContractionDefault(w, target);
  const Shape& out_shape = g.value(n.outputs[0]).shape;
  const tune::Contraction c = tune::ContractionOf(w);
  const tune::HalideView out_view = {{c.nx, 1}, {c.ny, c.nx}, {c.nb, c.nx * c.ny}};

  KernelDef def;
  def.kind = "contraction";
  EpilogueOperands ops{&def, &g, &out_shape, out_view};
  std::vector<std::string> steps;
  if (const Attribute* a = n.attrs.Find("opal_epilogue")) steps = a->strings;
  Status epi_status = Status::Ok();
  tune::ContractionOptions co;
  co.epilogue = [&](Expr acc, Var x, Var y, Var b) -> Expr {
    OutputCoords at(w, out_shape, x, y, b);
    Expr v = acc;
    auto read = [&](ValueId id, bool channel = false) -> Expr {
      auto e = channel ? ops.ReadChannel(id, at) : ops.Read(id, at, x, y, b);
      if (!e.ok()) {
        epi_status = e.status();
        return Expr(0.f);
      }
      return *e;
    };
    if (n.op_type == "Gemm") {
      const float alpha = static_cast<float>(n.attrs.GetFloat("alpha", 1.0));
      const float beta = static_cast<float>(n.attrs.GetFloat("beta", 1.0));
      if (alpha != 1.f) v = v * alpha;
      if (n.inputs.size() > 2 && n.inputs[2] != kNoValue && beta != 0.f) {
        Expr cterm = read(n.inputs[2]);
        v = v + (beta == 1.f ? cterm : cterm * beta);
      }
    } else if (n.op_type == "Conv" && n.inputs.size() > 2 && n.inputs[2] != kNoValue) {
      v = v + read(n.inputs[2], true);  // bias [K] along the channel axis
    }
    for (const std::string& s : steps) {
      if (s == "relu") {
        v = Halide::max(v, 0.f);
      } else if (s.rfind("clip:", 0) == 0) {
        size_t colon = s.find(':', 5);
        v = Halide::clamp(v, ParseBound(s.substr(5, colon - 5)), ParseBound(s.substr(colon + 1)));
      } else if (s.rfind("add:", 0) == 0 || s.rfind("mul:", 0) == 0) {
        size_t i = std::stoul(s.substr(4));
        if (i >= n.inputs.size()) {
          epi_status = Error(ErrorCode::kInvalidModel, "{}: epilogue step '{}' names no input",
                             n.Describe(), s);
          continue;
        }
        Expr e = read(n.inputs[i]);
        v = s[0] == 'a' ? v + e : v * e;
      } else {
        epi_status = Error(ErrorCode::kInternal, "{}: unknown epilogue step '{}'", n.Describe(), s);
      }
    }
    return v;
  };
  OPAL_ASSIGN_OR_RETURN(tune::ContractionFuncs f, tune::DefineContraction(w, config, co));
  OPAL_RETURN_IF_ERROR(epi_status.WithContext(n.Describe()));
  // The template's operands come first (conv: input, weights; dense/batch_matmul: A, B).
  std::vector<Halide::ImageParam> params = f.params;
  std::vector<ArgView> views;
  for (const auto& v : f.views) views.push_back(ToArgView(v));
  params.insert(params.end(), def.inputs.begin(), def.inputs.end());
  views.insert(views.end(), def.input_views.begin(), def.input_views.end());
  std::vector<ValueId> values = {n.inputs[0], n.inputs[1]};
  values.insert(values.end(), def.input_values.begin(), def.input_values.end());
  def.inputs = std::move(params);
  def.input_views = std::move(views);
  def.input_values = std::move(values);
  def.outputs = {f.out};
  def.output_values = {n.outputs[0]};
  def.output_views = {ToArgView(out_view)};
  return def;
}

}  // namespace opal::lower
