// Reductions: ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd, ReduceL1, ReduceL2,
// ReduceSumSquare, ReduceLogSum, ReduceLogSumExp. The axes are an attribute before opset 13
// (ReduceSum) or 18 (the others) and an optional input after; keepdims and noop_with_empty_axes
// as in the ONNX spec.
#include <cmath>
#include <limits>

#include "graph/ops/op_util.h"

namespace opal::graph {
namespace {

using K = Attribute::Kind;

// Which input dims are reduced (empty: the reduction is the identity, noop_with_empty_axes).
template <typename Ctx>
Result<std::vector<bool>> ReducedDims(const Ctx& ctx, int64_t rank) {
  std::vector<int64_t> axes;
  bool present = false;
  OPAL_RETURN_IF_ERROR(AxesFromAttrOrInput(ctx, "axes", 1, &axes, &present));
  std::vector<bool> reduced(static_cast<size_t>(rank), false);
  if (axes.empty()) {
    if (ctx.attrs().GetInt("noop_with_empty_axes", 0) != 0) return std::vector<bool>();
    reduced.assign(static_cast<size_t>(rank), true);
    return reduced;
  }
  for (int64_t a : axes) {
    int64_t n = a < 0 ? a + rank : a;
    if (n < 0 || n >= rank) {
      return Error(ErrorCode::kInvalidModel, "axis {} is out of range for rank {}", a, rank);
    }
    if (reduced[static_cast<size_t>(n)]) {
      return Error(ErrorCode::kInvalidModel, "axes {} repeat axis {}", IntsToString(axes), n);
    }
    reduced[static_cast<size_t>(n)] = true;
  }
  return reduced;
}

Shape ReducedShape(const Shape& in, const std::vector<bool>& reduced, bool keepdims) {
  if (reduced.empty()) return in;
  Shape out;
  for (size_t d = 0; d < in.size(); ++d) {
    if (!reduced[d]) {
      out.push_back(in[d]);
    } else if (keepdims) {
      out.push_back(1);
    }
  }
  return out;
}

Status InferReduce(InferContext& ctx) {
  DType t = ctx.input_dtype(0);
  if (!IsFloat(t) && !IsInteger(t)) {
    return ctx.Invalid("input type {} is not supported by {}", DTypeName(t), ctx.node().op_type);
  }
  OPAL_ASSIGN_OR_RETURN(auto reduced, ReducedDims(ctx, ctx.input_rank(0)));
  bool keepdims = ctx.attrs().GetInt("keepdims", 1) != 0;
  ctx.SetOutput(0, t, ReducedShape(ctx.input_shape(0), reduced, keepdims));
  return Status::Ok();
}

// Accumulates one output element. Integer inputs keep exact int64 sums, products and extrema.
struct Accumulator {
  double f = 0;
  int64_t i = 0;
  int64_t count = 0;
};

Status EvalReduce(EvalContext& ctx) {
  const Tensor& x = *ctx.input(0);
  const Shape& in = x.shape();
  const std::string& op = ctx.node().op_type;
  OPAL_ASSIGN_OR_RETURN(auto reduced, ReducedDims(ctx, static_cast<int64_t>(in.size())));
  Tensor y = ctx.NewOutput(0);
  const bool as_int = IsInteger(x.dtype()) && op != "ReduceL2" && op != "ReduceLogSum" &&
                      op != "ReduceLogSumExp" && op != "ReduceMean";
  const bool is_max = op == "ReduceMax", is_min = op == "ReduceMin", is_prod = op == "ReduceProd";
  std::vector<Accumulator> acc(static_cast<size_t>(y.size()));
  for (auto& a : acc) {
    a.f = is_max    ? -std::numeric_limits<double>::infinity()
          : is_min  ? std::numeric_limits<double>::infinity()
          : is_prod ? 1.0
                    : 0.0;
    a.i = is_max    ? std::numeric_limits<int64_t>::min()
          : is_min  ? std::numeric_limits<int64_t>::max()
          : is_prod ? 1
                    : 0;
  }
  // LogSumExp subtracts each output's maximum first, so exp() cannot overflow.
  std::vector<double> shift(acc.size(), 0.0);
  // Output offset of every input element: reduced dims contribute nothing.
  Shape kept = in;
  for (size_t d = 0; d < in.size(); ++d) {
    if (!reduced.empty() && reduced[d]) kept[d] = 1;
  }
  auto out_of = BroadcastOffsets(kept, in);  // element e of `in` reads output element out_of[e]
  if (op == "ReduceLogSumExp") {
    std::fill(shift.begin(), shift.end(), -std::numeric_limits<double>::infinity());
    for (int64_t e = 0; e < x.size(); ++e) {
      double& s = shift[static_cast<size_t>(out_of[e])];
      s = std::fmax(s, x.GetDouble(e));
    }
    for (double& s : shift) s = std::isfinite(s) ? s : 0.0;
  }
  for (int64_t e = 0; e < x.size(); ++e) {
    Accumulator& a = acc[static_cast<size_t>(out_of[e])];
    ++a.count;
    if (as_int) {
      const int64_t v = x.GetInt(e);
      if (is_max)
        a.i = std::max(a.i, v);
      else if (is_min)
        a.i = std::min(a.i, v);
      else if (is_prod)
        a.i *= v;
      else if (op == "ReduceL1")
        a.i += v < 0 ? -v : v;
      else if (op == "ReduceSumSquare")
        a.i += v * v;
      else
        a.i += v;  // ReduceSum
      continue;
    }
    const double v = x.GetDouble(e);
    if (is_max)
      a.f = std::isnan(v) || std::isnan(a.f) ? NAN : std::fmax(a.f, v);
    else if (is_min)
      a.f = std::isnan(v) || std::isnan(a.f) ? NAN : std::fmin(a.f, v);
    else if (is_prod)
      a.f *= v;
    else if (op == "ReduceL1")
      a.f += std::fabs(v);
    else if (op == "ReduceL2" || op == "ReduceSumSquare")
      a.f += v * v;
    else if (op == "ReduceLogSumExp")
      a.f += std::exp(v - shift[static_cast<size_t>(out_of[e])]);
    else
      a.f += v;  // ReduceSum, ReduceMean, ReduceLogSum
  }
  for (size_t o = 0; o < acc.size(); ++o) {
    const Accumulator& a = acc[o];
    const auto oi = static_cast<int64_t>(o);
    if (as_int) {
      y.SetInt(oi, a.i);
      continue;
    }
    double v = a.f;
    if (op == "ReduceMean") {
      v /= static_cast<double>(a.count);
      if (IsInteger(y.dtype())) v = std::trunc(v);
    }
    if (op == "ReduceL2") v = std::sqrt(v);
    if (op == "ReduceLogSum") v = std::log(v);
    if (op == "ReduceLogSumExp") v = std::log(v) + shift[o];
    y.SetDouble(oi, v);
  }
  ctx.SetOutput(0, std::move(y));
  return Status::Ok();
}

}  // namespace

void RegisterReduceOps(OpRegistry& r) {
  for (const char* op :
       {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
        "ReduceSumSquare", "ReduceLogSum", "ReduceLogSumExp"}) {
    r.Add({op,
           1,
           2,
           1,
           1,
           {{"axes", K::kInts}, {"keepdims", K::kInt}, {"noop_with_empty_axes", K::kInt}},
           InferReduce,
           EvalReduce});
  }
}

}  // namespace opal::graph
