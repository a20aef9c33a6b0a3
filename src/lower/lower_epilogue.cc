#include "lower/lower_epilogue.h"

#include <cmath>
#include <cstdlib>
#include <string>

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
    return Param(id, DenseView(v.shape), {site_.coord(1)});
  }

  // `id` broadcast (ONNX multidirectional) to the output, at the current element.
  Result<Expr> Broadcast(ValueId id) {
    const Value& v = g_.value(id);
    if (v.dtype != DType::kFloat32)
      return Error(ErrorCode::kInternal, "epilogue operand '{}' is {}, not float32", v.name, DTypeName(v.dtype));
    if (v.shape.size() > out_.size())
      return Error(ErrorCode::kInternal, "epilogue operand '{}' has a higher rank than the output", v.name);
    if (v.shape == out_) return Param(id, site_.out_view, site_.out_coords);
    const size_t r = out_.size(), rv = v.shape.size();
    std::vector<Expr> idx;  // Halide order: innermost first
    for (size_t j = 0; j < rv; ++j) {
      const int64_t d = v.shape[rv - 1 - j];
      if (d != 1 && d != out_[r - 1 - j])
        return Error(ErrorCode::kInternal, "epilogue operand '{}' does not broadcast to {}", v.name,
                     ShapeToString(out_));
      idx.push_back(d == 1 ? Expr(0) : site_.coord(r - 1 - j));
    }
    return Param(id, DenseView(v.shape), idx);
  }

 private:
  Expr Param(ValueId id, const ArgView& view, const std::vector<Expr>& at) {
    Halide::ImageParam p(Halide::Float(32), static_cast<int>(view.dims.size()),
                         "epi" + std::to_string(def_->inputs.size()));
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

float ParseBound(const std::string& s) {
  if (s == "-inf") return -INFINITY;
  if (s == "inf") return INFINITY;
  return std::strtof(s.c_str(), nullptr);
}

}  // namespace

Result<Expr> ApplyEpilogue(const Graph& g, const Node& n, Expr acc, const EpilogueSite& site, KernelDef* def) {
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
  const Attribute* steps = n.attrs.Find("opal_epilogue");
  for (const std::string& s : steps ? steps->strings : std::vector<std::string>{}) {
    if (s == "relu") {
      v = Halide::max(v, 0.f);
    } else if (s.rfind("clip:", 0) == 0 && s.find(':', 5) != std::string::npos) {
      const size_t colon = s.find(':', 5);
      v = Halide::clamp(v, ParseBound(s.substr(5, colon - 5)), ParseBound(s.substr(colon + 1)));
    } else if ((s.rfind("add:", 0) == 0 || s.rfind("mul:", 0) == 0) && s.size() > 4) {
      const size_t i = std::strtoul(s.c_str() + 4, nullptr, 10);
      if (i >= n.inputs.size() || n.inputs[i] == kNoValue)
        return Error(ErrorCode::kInternal, "{}: epilogue step '{}' names no input", n.Describe(), s);
      OPAL_ASSIGN_OR_RETURN(Expr e, read.Broadcast(n.inputs[i]));
      v = s[0] == 'a' ? v + e : v * e;
    } else {
      return Error(ErrorCode::kInternal, "{}: unknown epilogue step '{}'", n.Describe(), s);
    }
  }
  return v;
}

}  // namespace opal::lower
