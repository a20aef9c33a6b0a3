#include "lower/lower_planes.h"

#include <algorithm>

namespace opal::lower {

using Halide::Expr;
using Halide::Func;
using Halide::RDom;
using Halide::Var;

bool PlaneReductionSupports(DType t) { return t == DType::kFloat32 || t == DType::kFloat64; }

bool ReducesTrailingAxes(const std::vector<bool>& reduced, int* first) {
  const int r = static_cast<int>(reduced.size());
  int k = r;
  while (k > 0 && reduced[static_cast<size_t>(k - 1)]) --k;
  if (k == r) return false;
  for (int d = 0; d < k; ++d)
    if (reduced[static_cast<size_t>(d)]) return false;
  *first = k;
  return true;
}

Result<KernelDef> LowerPlaneReduction(KernelBuilder& b, int64_t rows, int64_t plane, PlaneOp op,
                                      double scale) {
  OPAL_ASSIGN_OR_RETURN(TensorRef x, b.InputAs(0, {rows, plane}));
  const Halide::Type t = x.type;
  auto combine = [op](const Expr& a, const Expr& v) {
    return op == PlaneOp::kSum ? a + v : op == PlaneOp::kMax ? Halide::max(a, v) : Halide::min(a, v);
  };
  auto reduce = [op](const Expr& v) {  // over the RDom in v
    return op == PlaneOp::kSum ? Halide::sum(v) : op == PlaneOp::kMax ? Halide::maximum(v) : Halide::minimum(v);
  };
  const Expr identity = op == PlaneOp::kSum   ? Halide::cast(t, 0)
                        : op == PlaneOp::kMax ? LowestOf(t)
                                              : HighestOf(t);
  // Up to four vector accumulators per row (fewer on short planes), read in memory order, then
  // the row's tail.
  const int lanes = std::max(1, b.options().vector_lanes);
  const int width = lanes * static_cast<int>(std::clamp<int64_t>(plane / lanes, 1, 4));
  const int64_t body = plane / width * width;
  Var l("l"), row("row");
  Func part("part");
  part(l, row) = identity;
  if (body > 0) {
    RDom r(0, static_cast<int>(body / width), "r");
    part(l, row) = combine(part(l, row), x({row, r * width + l}));
  }
  RDom lane(0, width, "lane");
  Expr acc = reduce(part(lane, row));
  if (plane > body) {
    RDom tail(static_cast<int>(body), static_cast<int>(plane - body), "tail");
    acc = combine(acc, reduce(x({row, tail})));
  }
  if (op == PlaneOp::kSum && scale != 1.0) acc = acc * Halide::cast(t, Expr(scale));
  Func red("red");
  red(row) = acc;

  // The output in its own shape; its dense elements are the rows in order.
  const Shape& out_shape = b.OutShape(0);
  const auto vars = MakeVars(static_cast<int>(out_shape.size()));
  Expr flat = 0;
  for (size_t d = 0; d < out_shape.size(); ++d) flat = flat * static_cast<int>(out_shape[d]) + vars[d];
  Func out("out");
  out(HalideArgs(vars)) = red(out_shape.empty() ? Expr(0) : flat);
  b.SetOutputUnscheduled(0, out);
  std::vector<Var> args = out.args();
  Var all = args.empty() ? Var("all") : args[0];
  for (size_t d = 1; d < args.size(); ++d) {
    Var fused("fused" + std::to_string(d));
    out.fuse(all, args[d], fused);
    all = fused;
  }
  Halide::LoopLevel at = args.empty() ? Halide::LoopLevel::root() : Halide::LoopLevel(out, all);
  // Tasks of whole rows, at least 16 K elements each, at most 32.
  const int64_t tasks = std::min<int64_t>({rows, rows * plane / 16384, 32});
  if (!args.empty() && tasks >= 2) {
    Var task("task"), inner("inner");
    out.split(all, task, inner, static_cast<int>((rows + tasks - 1) / tasks),
              Halide::TailStrategy::GuardWithIf)
        .parallel(task);
    at = Halide::LoopLevel(out, inner);
  }
  part.compute_at(at).vectorize(l, lanes);
  if (body > 0) {
    Var lo("lo"), li("li");
    part.update().split(l, lo, li, lanes).vectorize(li).unroll(lo);
  }
  return b.Finish();
}

}  // namespace opal::lower
