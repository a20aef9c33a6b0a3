// MatMul (numpy semantics, batched with broadcasting) and Gemm.
#include "graph/ops/op_util.h"

namespace opal::graph {
namespace {

using K = Attribute::Kind;

struct MatMulDims {
  Shape batch;             // broadcast batch dims of the output
  int64_t m, n, k;
  bool a_vec, b_vec;       // 1-D operands (promoted then squeezed)
};

Result<MatMulDims> MatMulShape(const Shape& a, const Shape& b) {
  if (a.empty() || b.empty()) return Error(ErrorCode::kInvalidModel, "MatMul operands must not be scalars");
  MatMulDims d{};
  d.a_vec = a.size() == 1;
  d.b_vec = b.size() == 1;
  Shape a2 = d.a_vec ? Shape{1, a[0]} : a;
  Shape b2 = d.b_vec ? Shape{b[0], 1} : b;
  d.m = a2[a2.size() - 2];
  d.k = a2.back();
  d.n = b2.back();
  if (b2[b2.size() - 2] != d.k) {
    return Error(ErrorCode::kInvalidModel, "inner dimensions differ: {} and {}", ShapeToString(a), ShapeToString(b));
  }
  OPAL_ASSIGN_OR_RETURN(d.batch, BroadcastShapes(Shape(a2.begin(), a2.end() - 2), Shape(b2.begin(), b2.end() - 2)));
  return d;
}

Status InferMatMul(InferContext& ctx) {
  if (ctx.input_dtype(0) != ctx.input_dtype(1)) return ctx.Invalid("operands have different types");
  OPAL_ASSIGN_OR_RETURN(MatMulDims d, MatMulShape(ctx.input_shape(0), ctx.input_shape(1)));
  Shape out = d.batch;
  if (!d.a_vec) out.push_back(d.m);
  if (!d.b_vec) out.push_back(d.n);
  ctx.SetOutput(0, ctx.input_dtype(0), out);
  return Status::Ok();
}

Status EvalMatMul(EvalContext& ctx) {
  const Tensor& a = *ctx.input(0);
  const Tensor& b = *ctx.input(1);
  OPAL_ASSIGN_OR_RETURN(MatMulDims d, MatMulShape(a.shape(), b.shape()));
  Shape a2 = d.a_vec ? Shape{1, a.shape()[0]} : a.shape();
  Shape b2 = d.b_vec ? Shape{b.shape()[0], 1} : b.shape();
  // Offsets of each batch's matrix in a and b.
  Shape abatch(a2.begin(), a2.end() - 2), bbatch(b2.begin(), b2.end() - 2);
  auto aoff = BroadcastOffsets(abatch, d.batch);
  auto boff = BroadcastOffsets(bbatch, d.batch);
  Tensor y = ctx.NewOutput(0);
  const int64_t nb = NumElements(d.batch);
  for (int64_t bi = 0; bi < nb; ++bi) {
    const int64_t ab = aoff[bi] * d.m * d.k, bb = boff[bi] * d.k * d.n, yb = bi * d.m * d.n;
    for (int64_t i = 0; i < d.m; ++i) {
      for (int64_t j = 0; j < d.n; ++j) {
        double acc = 0;
        for (int64_t p = 0; p < d.k; ++p) acc += a.GetDouble(ab + i * d.k + p) * b.GetDouble(bb + p * d.n + j);
        y.SetDouble(yb + i * d.n + j, acc);
      }
    }
  }
  ctx.SetOutput(0, std::move(y));
  return Status::Ok();
}

Status InferGemm(InferContext& ctx) {
  const Shape& a = ctx.input_shape(0);
  const Shape& b = ctx.input_shape(1);
  if (a.size() != 2 || b.size() != 2) {
    return ctx.Invalid("A and B must be matrices, got {} and {}", ShapeToString(a), ShapeToString(b));
  }
  if (ctx.input_dtype(0) != ctx.input_dtype(1)) return ctx.Invalid("A and B have different types");
  bool ta = ctx.attrs().GetInt("transA", 0) != 0, tb = ctx.attrs().GetInt("transB", 0) != 0;
  int64_t m = ta ? a[1] : a[0], k = ta ? a[0] : a[1];
  int64_t kb = tb ? b[1] : b[0], n = tb ? b[0] : b[1];
  if (k != kb) return ctx.Invalid("inner dimensions differ: A {} and B {}", ShapeToString(a), ShapeToString(b));
  if (ctx.has_input(2)) {
    auto s = BroadcastShapes(ctx.input_shape(2), {m, n});
    if (!s.ok() || *s != Shape{m, n}) {
      return ctx.Invalid("C of shape {} does not broadcast to {}x{}", ShapeToString(ctx.input_shape(2)), m, n);
    }
  }
  ctx.SetOutput(0, ctx.input_dtype(0), {m, n});
  return Status::Ok();
}

Status EvalGemm(EvalContext& ctx) {
  const Tensor& a = *ctx.input(0);
  const Tensor& b = *ctx.input(1);
  const Tensor* c = ctx.input(2);
  bool ta = ctx.attrs().GetInt("transA", 0) != 0, tb = ctx.attrs().GetInt("transB", 0) != 0;
  double alpha = ctx.attrs().GetFloat("alpha", 1.0), beta = ctx.attrs().GetFloat("beta", 1.0);
  Tensor y = ctx.NewOutput(0);
  const int64_t m = y.shape()[0], n = y.shape()[1];
  const int64_t k = ta ? a.shape()[0] : a.shape()[1];
  std::vector<int64_t> coff = c ? BroadcastOffsets(c->shape(), y.shape()) : std::vector<int64_t>{};
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double acc = 0;
      for (int64_t p = 0; p < k; ++p) {
        double av = a.GetDouble(ta ? p * m + i : i * k + p);
        double bv = b.GetDouble(tb ? j * k + p : p * n + j);
        acc += av * bv;
      }
      double v = alpha * acc;
      if (c) v += beta * c->GetDouble(coff[i * n + j]);
      y.SetDouble(i * n + j, v);
    }
  }
  ctx.SetOutput(0, std::move(y));
  return Status::Ok();
}

}  // namespace

void RegisterMatMulOps(OpRegistry& r) {
  r.Add({"MatMul", 2, 2, 1, 1, {}, InferMatMul, EvalMatMul});
  r.Add({"Gemm", 2, 3, 1, 1,
         {{"alpha", K::kFloat}, {"beta", K::kFloat}, {"transA", K::kInt}, {"transB", K::kInt}},
         InferGemm, EvalGemm});
}

}  // namespace opal::graph
