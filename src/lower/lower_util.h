// Shared plumbing of the per-family lowerings (internal to opal_lower): a KernelBuilder that
// turns node inputs into constrained ImageParams and scheduled output Funcs, and helpers that
// index tensors in ONNX order (outermost first) while Halide sees them innermost first.
#pragma once

#include <Halide.h>

#include <string>
#include <vector>

#include "lower/lowering.h"

namespace opal::lower {

// A tensor the algorithm reads: a Func over Halide dims (innermost first) with its ONNX shape.
struct TensorRef {
  Halide::Func f;
  Shape shape;
  Halide::Type type;
  int rank() const { return static_cast<int>(shape.size()); }
  // The element at an ONNX-order index (idx[0] outermost); size must equal rank().
  Halide::Expr operator()(const std::vector<Halide::Expr>& idx) const;
  // The element read with ONNX multidirectional broadcasting against output indices `out`
  // (rank >= rank()): trailing dims align, dims of extent 1 read index 0.
  Halide::Expr Broadcast(const std::vector<Halide::Expr>& out) const;
};

// ONNX-order index vector -> Halide argument order.
std::vector<Halide::Expr> HalideArgs(const std::vector<Halide::Expr>& onnx_idx);
std::vector<Halide::Var> HalideArgs(const std::vector<Halide::Var>& onnx_vars);
// `rank` fresh Vars in ONNX order (v[0] outermost).
std::vector<Halide::Var> MakeVars(int rank);
std::vector<Halide::Expr> AsExprs(const std::vector<Halide::Var>& vars);
// Normalises a possibly negative axis against `rank`; kInvalidModel when out of range.
Result<int> NormAxis(int64_t axis, int rank, const Node& n);
// Clamps an index expression into [0, extent-1] (keeps bounds inference inside the buffer).
Halide::Expr ClampIndex(const Halide::Expr& i, int64_t extent);
// Lowest / highest finite-or-infinite value of a type (for max/min identities).
Halide::Expr LowestOf(const Halide::Type& t);
Halide::Expr HighestOf(const Halide::Type& t);
// Casts an Expr to the storage type of `t` (bool: != 0 as UInt(8)).
Halide::Expr CastTo(DType t, const Halide::Expr& e);
// Reads a constant tensor as int64 / double values.
std::vector<int64_t> ConstInts(const Tensor& t);

class KernelBuilder {
 public:
  KernelBuilder(const Graph& g, const Node& n, const LowerOptions& o, std::string kind)
      : g_(g), n_(n), o_(o) {
    def_.kind = std::move(kind);
  }

  const Graph& graph() const { return g_; }
  const Node& node() const { return n_; }
  const LowerOptions& options() const { return o_; }
  const Attributes& attrs() const { return n_.attrs; }
  int opset() const { return g_.opset; }
  void set_kind(std::string kind) { def_.kind = std::move(kind); }

  bool HasInput(size_t i) const { return i < n_.inputs.size() && n_.inputs[i] != kNoValue; }
  bool HasOutput(size_t i) const { return i < n_.outputs.size() && n_.outputs[i] != kNoValue; }
  const Value& InValue(size_t i) const { return g_.value(n_.inputs.at(i)); }
  const Value& OutValue(size_t i) const { return g_.value(n_.outputs.at(i)); }
  const Shape& InShape(size_t i) const { return InValue(i).shape; }
  const Shape& OutShape(size_t i) const { return OutValue(i).shape; }
  // The build-time value of input i, or nullptr when absent or not a graph constant.
  const Tensor* Constant(size_t i) const;
  // Input i as a runtime parameter (one param per distinct value, in first-use order).
  Result<TensorRef> Input(size_t i);
  // Input i read as `shape`, a shape of the same element count: its dense bytes seen with another
  // shape (e.g. an NCHW tensor as N x C x HW, each plane one contiguous axis).
  Result<TensorRef> InputAs(size_t i, const Shape& shape);
  // kUnsupported unless input i is present and constant; returns its int64 values.
  Result<std::vector<int64_t>> ConstantInts(size_t i, const std::string& what) const;

  // Sets output i to `f` (its args are Vars, Halide order) and schedules it: constrained to the
  // dense view, vectorised along dim 0 and parallel over the fused outer dims when large.
  // Returns the loop level of one outer iteration (root when the output is not split up).
  Halide::LoopLevel SetOutput(size_t i, Halide::Func f);
  // Sets output i to `f` with its bounds and strides constrained, leaving the schedule to the caller.
  void SetOutputUnscheduled(size_t i, Halide::Func f);

  // An error naming the node: kUnsupported "node 'x' (Op): WHAT is not supported".
  Status Unsupported(const std::string& what) const;
  Result<KernelDef> Finish();

 private:
  const Graph& g_;
  const Node& n_;
  const LowerOptions& o_;
  KernelDef def_;
  std::vector<TensorRef> refs_;  // parallel to def_.inputs
};

}  // namespace opal::lower
