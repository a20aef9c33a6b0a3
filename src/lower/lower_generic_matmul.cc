#include "lower/lower_generic_matmul.h"

#include <functional>

namespace opal::lower {
namespace {

using Halide::Expr;
using Halide::Func;
using Halide::RDom;
using Halide::Var;

Expr K(const Halide::Type& t, double v) { return Halide::cast(t, Expr(v)); }

// Batch indices of an operand whose batch dims `shape` broadcast against the output's `batch`.
std::vector<Expr> BatchIndex(const Shape& shape, const std::vector<Expr>& batch) {
  std::vector<Expr> idx;
  for (size_t j = 0; j < shape.size(); ++j) {
    idx.push_back(shape[j] == 1 ? Expr(0) : batch[batch.size() - shape.size() + j]);
  }
  return idx;
}

// Output 0 = acc (+ epilogue `finish`), with acc accumulated per output row: acc is computed
// at the output's outer loop level, its update loops over the reduction outside the vectorised
// dim 0.
void EmitAccumulated(KernelBuilder& b, const std::vector<Var>& v, const RDom& r, const Expr& term,
                     const std::function<Expr(Expr)>& finish) {
  const auto args = HalideArgs(v);
  const auto t = b.OutValue(0).dtype == DType::kFloat64 ? Halide::Float(64) : term.type();
  Func acc("acc"), out("out");
  acc(args) = K(t, 0);
  acc(args) += Halide::cast(t, term);
  out(args) = CastTo(b.OutValue(0).dtype, finish(acc(args)));
  Halide::LoopLevel row = b.SetOutput(0, out);
  acc.compute_at(row);
  if (args.empty()) return;
  std::vector<Halide::VarOrRVar> order = {args[0]};
  for (int k = 0; k < r.dimensions(); ++k) order.push_back(r[k]);
  for (size_t k = 1; k < args.size(); ++k) order.push_back(args[k]);
  acc.update().reorder(order);
  const int lanes = b.options().vector_lanes;
  if (b.OutShape(0).back() >= lanes && lanes > 1) {
    acc.vectorize(args[0], lanes, Halide::TailStrategy::GuardWithIf);
    acc.update().vectorize(args[0], lanes, Halide::TailStrategy::GuardWithIf);
  }
}

Result<KernelDef> MatMul(KernelBuilder& b) {
  OPAL_ASSIGN_OR_RETURN(TensorRef A, b.Input(0));
  OPAL_ASSIGN_OR_RETURN(TensorRef B, b.Input(1));
  if (A.rank() < 1 || B.rank() < 1) return b.Unsupported("MatMul of scalars");
  const int ro = static_cast<int>(b.OutShape(0).size());
  const auto v = MakeVars(ro);
  const auto idx = AsExprs(v);
  RDom r(0, static_cast<int>(A.shape.back()), "r");
  // Output layout: batch..., [m if A is a matrix], [n if B is a matrix].
  const int tail = (A.rank() >= 2 ? 1 : 0) + (B.rank() >= 2 ? 1 : 0);
  const std::vector<Expr> batch(idx.begin(), idx.end() - tail);
  std::vector<Expr> ai, bi;
  if (A.rank() == 1) {
    ai = {r};
  } else {
    ai = BatchIndex(Shape(A.shape.begin(), A.shape.end() - 2), batch);
    ai.push_back(idx[ro - tail]);
    ai.push_back(r);
  }
  if (B.rank() == 1) {
    bi = {r};
  } else {
    bi = BatchIndex(Shape(B.shape.begin(), B.shape.end() - 2), batch);
    bi.push_back(r);
    bi.push_back(idx[ro - 1]);
  }
  EmitAccumulated(b, v, r, A(ai) * B(bi), [](Expr e) { return e; });
  return b.Finish();
}

Result<KernelDef> Gemm(KernelBuilder& b) {
  OPAL_ASSIGN_OR_RETURN(TensorRef A, b.Input(0));
  OPAL_ASSIGN_OR_RETURN(TensorRef B, b.Input(1));
  if (A.rank() != 2 || B.rank() != 2) return b.Unsupported("Gemm operands of rank != 2");
  const bool ta = b.attrs().GetInt("transA", 0) != 0, tb = b.attrs().GetInt("transB", 0) != 0;
  const auto v = MakeVars(2);
  const Expr m = v[0], n = v[1];
  RDom r(0, static_cast<int>(ta ? A.shape[0] : A.shape[1]), "r");
  const Expr a = ta ? A({r, m}) : A({m, r});
  const Expr bb = tb ? B({n, r}) : B({r, n});
  const double alpha = b.attrs().GetFloat("alpha", 1.0), beta = b.attrs().GetFloat("beta", 1.0);
  Expr c;
  if (b.HasInput(2) && beta != 0) {
    OPAL_ASSIGN_OR_RETURN(TensorRef C, b.Input(2));
    c = K(A.type, beta) * C.Broadcast({m, n});
  }
  EmitAccumulated(b, v, r, a * bb, [&](Expr e) {
    Expr y = alpha == 1.0 ? e : K(A.type, alpha) * e;
    return c.defined() ? y + c : y;
  });
  return b.Finish();
}

Result<KernelDef> Conv(KernelBuilder& b) {
  OPAL_ASSIGN_OR_RETURN(TensorRef X, b.Input(0));
  OPAL_ASSIGN_OR_RETURN(TensorRef W, b.Input(1));
  const int k = X.rank() - 2;
  if (k < 1 || W.rank() != X.rank()) return b.Unsupported("Conv of rank < 3");
  const Shape& out = b.OutShape(0);
  const int64_t group = b.attrs().GetInt("group", 1);
  const int64_t M = W.shape[0], Cg = W.shape[1];
  auto strides = b.attrs().GetInts("strides", std::vector<int64_t>(k, 1));
  auto dil = b.attrs().GetInts("dilations", std::vector<int64_t>(k, 1));
  auto pads = b.attrs().GetInts("pads", std::vector<int64_t>(2 * k, 0));
  if (static_cast<int>(strides.size()) != k || static_cast<int>(dil.size()) != k ||
      static_cast<int>(pads.size()) != 2 * k) {
    return Error(ErrorCode::kInvalidModel, "{}: strides/dilations/pads do not fit {} spatial dims",
                 b.node().Describe(), k);
  }
  const std::string auto_pad = b.attrs().GetString("auto_pad", "NOTSET");
  std::vector<int64_t> pad_begin(k);
  for (int j = 0; j < k; ++j) {
    const int64_t in = X.shape[j + 2], kern = W.shape[j + 2], o = out[j + 2];
    pad_begin[j] = pads[j];
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      const int64_t total =
          std::max<int64_t>(0, (o - 1) * strides[j] + (kern - 1) * dil[j] + 1 - in);
      pad_begin[j] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
    } else if (auto_pad == "VALID") {
      pad_begin[j] = 0;
    }
  }
  const auto v = MakeVars(X.rank());
  std::vector<Halide::Range> ranges;
  for (int j = k - 1; j >= 0; --j) ranges.emplace_back(0, static_cast<int>(W.shape[j + 2]));
  ranges.emplace_back(0, static_cast<int>(Cg));
  RDom r(ranges, "r");
  const Expr rc = r[k];
  const Expr g = v[1] / static_cast<int>(M / group);
  std::vector<Expr> xi = {v[0], g * static_cast<int>(Cg) + rc}, wi = {v[1], rc};
  Expr valid = Halide::Internal::const_true();
  for (int j = 0; j < k; ++j) {
    const Expr kj = r[k - 1 - j];
    const Expr i = v[j + 2] * static_cast<int>(strides[j]) + kj * static_cast<int>(dil[j]) -
                   static_cast<int>(pad_begin[j]);
    valid = valid && i >= 0 && i < static_cast<int>(X.shape[j + 2]);
    xi.push_back(ClampIndex(i, X.shape[j + 2]));
    wi.push_back(kj);
  }
  const Expr term = Halide::select(valid, X(xi), K(X.type, 0)) * W(wi);
  Expr bias;
  if (b.HasInput(2)) {
    OPAL_ASSIGN_OR_RETURN(TensorRef Bias, b.Input(2));
    bias = Bias({v[1]});
  }
  EmitAccumulated(b, v, r, term, [&](Expr e) { return bias.defined() ? e + bias : e; });
  return b.Finish();
}

// ConvTranspose: y[n, m, o] = sum over c, k of x[n, c, i] * W[c, m, k] where o = i*s + k*d - pb.
Result<KernelDef> ConvTranspose(KernelBuilder& b) {
  OPAL_ASSIGN_OR_RETURN(TensorRef X, b.Input(0));
  OPAL_ASSIGN_OR_RETURN(TensorRef W, b.Input(1));
  const int k = X.rank() - 2;
  if (k < 1 || W.rank() != X.rank()) return b.Unsupported("ConvTranspose of rank < 3");
  const Shape& out = b.OutShape(0);
  const int64_t group = b.attrs().GetInt("group", 1);
  const int64_t Cg = X.shape[1] / group, Mg = W.shape[1];
  auto strides = b.attrs().GetInts("strides", std::vector<int64_t>(k, 1));
  auto dil = b.attrs().GetInts("dilations", std::vector<int64_t>(k, 1));
  auto opad = b.attrs().GetInts("output_padding", std::vector<int64_t>(k, 0));
  auto pads = b.attrs().GetInts("pads");
  const std::string auto_pad = b.attrs().GetString("auto_pad", "NOTSET");
  if (static_cast<int>(strides.size()) != k || static_cast<int>(dil.size()) != k ||
      static_cast<int>(opad.size()) != k ||
      (!pads.empty() && static_cast<int>(pads.size()) != 2 * k)) {
    return Error(ErrorCode::kInvalidModel, "{}: strides/dilations/pads do not fit {} spatial dims",
                 b.node().Describe(), k);
  }
  std::vector<int64_t> pad_begin(k, 0);
  for (int j = 0; j < k; ++j) {
    if (!pads.empty() && auto_pad == "NOTSET" && !b.attrs().Has("output_shape")) {
      pad_begin[j] = pads[j];
      continue;
    }
    if (auto_pad == "VALID") continue;
    // A negative total (output_shape larger than the full result) extends the end only.
    const int64_t total = std::max<int64_t>(0, strides[j] * (X.shape[j + 2] - 1) + opad[j] +
                                                   (W.shape[j + 2] - 1) * dil[j] + 1 - out[j + 2]);
    pad_begin[j] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
  }
  const auto v = MakeVars(X.rank());
  std::vector<Halide::Range> ranges;
  for (int j = k - 1; j >= 0; --j) ranges.emplace_back(0, static_cast<int>(W.shape[j + 2]));
  ranges.emplace_back(0, static_cast<int>(Cg));
  RDom r(ranges, "r");
  const Expr g = v[1] / static_cast<int>(Mg), ci = g * static_cast<int>(Cg) + r[k];
  std::vector<Expr> xi = {v[0], ci}, wi = {ci, v[1] % static_cast<int>(Mg)};
  Expr valid = Halide::Internal::const_true();
  for (int j = 0; j < k; ++j) {
    const Expr kj = r[k - 1 - j];
    const int s = static_cast<int>(strides[j]);
    const Expr t = v[j + 2] + static_cast<int>(pad_begin[j]) - kj * static_cast<int>(dil[j]);
    valid = valid && t >= 0 && t % s == 0 && t / s < static_cast<int>(X.shape[j + 2]);
    xi.push_back(ClampIndex(t / s, X.shape[j + 2]));
    wi.push_back(kj);
  }
  const Expr term = Halide::select(valid, X(xi), K(X.type, 0)) * W(wi);
  Expr bias;
  if (b.HasInput(2)) {
    OPAL_ASSIGN_OR_RETURN(TensorRef Bias, b.Input(2));
    bias = Bias({v[1]});
  }
  EmitAccumulated(b, v, r, term, [&](Expr e) { return bias.defined() ? e + bias : e; });
  return b.Finish();
}

}  // namespace

const std::vector<std::string>& GenericContractionOps() {
  static const std::vector<std::string> ops = {"MatMul", "Gemm", "Conv", "ConvTranspose"};
  return ops;
}

Result<KernelDef> LowerGenericContraction(KernelBuilder& b) {
  b.set_kind("generic_contraction");
  const std::string& op = b.node().op_type;
  if (!HalideTypeOf(b.OutValue(0).dtype).ok()) {
    return b.Unsupported(fmt::format("output type {}", DTypeName(b.OutValue(0).dtype)));
  }
  if (op == "MatMul") return MatMul(b);
  if (op == "Gemm") return Gemm(b);
  if (op == "ConvTranspose") return ConvTranspose(b);
  return Conv(b);
}

Result<KernelDef> LowerGenericContractionNode(const Graph& g, const Node& n,
                                              const LowerOptions& o) {
  KernelBuilder b(g, n, o, "generic_contraction");
  try {
    return LowerGenericContraction(b);
  } catch (const Halide::Error& e) {
    return Error(ErrorCode::kInternal, "{}: Halide rejected the lowering: {}", n.Describe(),
                 std::string(e.what()).substr(0, 300));
  }
}

}  // namespace opal::lower
