#include "lower/lower_epilogue.h"

#include <map>
#include <string>

#include "lower/elementwise_expr.h"

namespace opal::lower {
namespace {

using Halide::Expr;

class Reader {
 public:
  Reader(const Graph& g, const Shape& out, const EpilogueSite& site, KernelDef* def)
      : g_(g), out_(out), site_(site), def_(def) {}

  // A Conv bias: a vector along the channel axis (1) of the output.
  Result<Expr> Channel(ValueId id) {
    const Value& v = g_.value(id);
    if (v.dtype != DType::kFloat32 || v.shape.size() != 1)
      return Error(ErrorCode::kInternal, "bias '{}' is not a float32 vector", v.name);
    return Param(id, Halide::Float(32), DenseView(v.shape), {site_.coord(1)});
  }

  // `id` broadcast (ONNX multidirectional) to the output, at the current element.
  Result<Expr> Broadcast(ValueId id) {
    if (Expr c = ScalarConstant(g_, id); c.defined()) return c;
    const Value& v = g_.value(id);
    OPAL_ASSIGN_OR_RETURN(Halide::Type t, HalideTypeOf(v.dtype));
    if (v.shape.size() > out_.size())
      return Error(ErrorCode::kInternal, "epilogue operand '{}' has a higher rank than the output", v.name);
    if (v.shape == out_) return Param(id, t, site_.out_view, site_.out_coords);
    const size_t r = out_.size(), rv = v.shape.size();
    std::vector<Expr> idx;  // Halide order: innermost first
    for (size_t j = 0; j < rv; ++j) {
      const int64_t d = v.shape[rv - 1 - j];
      if (d != 1 && d != out_[r - 1 - j])
        return Error(ErrorCode::kInternal, "epilogue operand '{}' does not broadcast to {}", v.name,
                     ShapeToString(out_));
      idx.push_back(d == 1 ? Expr(0) : site_.coord(r - 1 - j));
    }
    return Param(id, t, DenseView(v.shape), idx);
  }

 private:
  Expr Param(ValueId id, Halide::Type t, const ArgView& view, const std::vector<Expr>& at) {
    for (size_t k = 0; k < def_->input_values.size(); ++k) {  // one param per value and view
      if (def_->input_values[k] != id || def_->input_views[k].dims.size() != view.dims.size()) continue;
      bool same = true;
      for (size_t d = 0; d < view.dims.size(); ++d)
        same = same && def_->input_views[k].dims[d].extent == view.dims[d].extent &&
               def_->input_views[k].dims[d].stride == view.dims[d].stride;
      if (same) return view.dims.empty() ? def_->inputs[k]() : def_->inputs[k](at);
    }
    Halide::ImageParam p(t, static_cast<int>(view.dims.size()), "epi" + std::to_string(def_->inputs.size()));
    ConstrainView(p, view);
    def_->inputs.push_back(p);
    def_->input_values.push_back(id);
    def_->input_views.push_back(view);
    return view.dims.empty() ? p() : p(at);
  }

  const Graph& g_;
  const Shape& out_;
  const EpilogueSite& site_;
  KernelDef* def_;
};

}  // namespace

Result<Expr> ApplyEpilogue(const Graph& g, const Node& n, Expr acc, const EpilogueSite& site,
                           const KernelGroup* group, KernelDef* def) {
  Reader read(g, g.value(n.outputs[0]).shape, site, def);
  Expr v = acc;
  if (n.op_type == "Gemm") {
    const float alpha = static_cast<float>(n.attrs.GetFloat("alpha", 1.0));
    const float beta = static_cast<float>(n.attrs.GetFloat("beta", 1.0));
    if (alpha != 1.f) v = v * alpha;
    if (n.inputs.size() > 2 && n.inputs[2] != kNoValue && beta != 0.f) {
      OPAL_ASSIGN_OR_RETURN(Expr c, read.Broadcast(n.inputs[2]));
      v = v + (beta == 1.f ? c : c * beta);
    }
  } else if (n.op_type == "Conv" && n.inputs.size() > 2 && n.inputs[2] != kNoValue) {
    OPAL_ASSIGN_OR_RETURN(Expr bias, read.Channel(n.inputs[2]));
    v = v + bias;
  }
  if (!group || group->members.size() < 2) return v;
  std::map<ValueId, Expr> at = {{n.outputs[0], v}};
  for (size_t m = 1; m < group->members.size(); ++m) {
    const Node& f = g.node(group->members[m]);
    std::vector<Expr> in(f.inputs.size());
    for (size_t i : PointwiseDataInputs(f)) {
      if (auto it = at.find(f.inputs[i]); it != at.end()) {
        in[i] = it->second;
      } else {
        OPAL_ASSIGN_OR_RETURN(in[i], read.Broadcast(f.inputs[i]));
      }
    }
    OPAL_ASSIGN_OR_RETURN(Expr e, PointwiseExpr(g, f, in));
    at[f.outputs[0]] = e;
  }
  return at.at(group->output);
}

}  // namespace opal::lower
