// The operators opal understands. Each op family (src/graph/ops/<family>.cc) registers one
// OpSchema per ONNX op type: its arity, its attributes, a shape/type inference function and,
// where cheap, a reference evaluation used to fold constants at import (and, later, as the
// numerical oracle for generated kernels).
//
// Contract for InferFn: read inputs' dtypes/shapes (all known when called) and attributes, set
// every present output with SetOutput, or return an error from ctx.Invalid()/ctx.Unsupported()
// (the driver adds which node failed). Never abort on bad input.
// Contract for EvalFn: called only when every present input is a constant; set every present
// output to a tensor whose dtype and shape equal what InferFn produced. An EvalFn may return
// kUnsupported for a variant it cannot compute (random outputs, strings): the node is then simply
// not folded and its outputs stay non-constant. Any other error fails the import.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "opal/graph.h"
#include "opal/status.h"

namespace opal::graph {

class InferContext {
 public:
  InferContext(Graph& g, NodeId id) : g_(g), id_(id) {}

  const Node& node() const { return g_.node(id_); }
  const Attributes& attrs() const { return node().attrs; }
  int opset() const { return g_.opset; }

  size_t num_inputs() const { return node().inputs.size(); }
  bool has_input(size_t i) const { return i < num_inputs() && node().inputs[i] != kNoValue; }
  const Value& input(size_t i) const { return g_.value(node().inputs.at(i)); }
  DType input_dtype(size_t i) const { return input(i).dtype; }
  const Shape& input_shape(size_t i) const { return input(i).shape; }
  int64_t input_rank(size_t i) const { return static_cast<int64_t>(input(i).shape.size()); }
  // The constant value of input i, or nullptr when absent or not constant.
  const Tensor* input_constant(size_t i) const {
    return has_input(i) ? input(i).constant.get() : nullptr;
  }

  size_t num_outputs() const { return node().outputs.size(); }
  bool has_output(size_t i) const { return i < num_outputs() && node().outputs[i] != kNoValue; }
  void SetOutput(size_t i, DType dtype, Shape shape);

  template <typename... A>
  Status Invalid(fmt::format_string<A...> f, A&&... a) const {
    return Status(ErrorCode::kInvalidModel, fmt::format(f, std::forward<A>(a)...));
  }
  template <typename... A>
  Status Unsupported(fmt::format_string<A...> f, A&&... a) const {
    return Status(ErrorCode::kUnsupported, fmt::format(f, std::forward<A>(a)...));
  }

 private:
  Graph& g_;
  NodeId id_;
};

class EvalContext {
 public:
  EvalContext(const Graph& g, NodeId id, std::vector<Tensor>* outputs)
      : g_(g), id_(id), outputs_(outputs) {}

  const Node& node() const { return g_.node(id_); }
  const Attributes& attrs() const { return node().attrs; }
  int opset() const { return g_.opset; }
  size_t num_inputs() const { return node().inputs.size(); }
  // The input tensor, or nullptr for an omitted optional input (or, for an op whose schema sets
  // shape_only_eval, an input that is not constant).
  const Tensor* input(size_t i) const {
    if (i >= num_inputs() || node().inputs[i] == kNoValue) return nullptr;
    return g_.value(node().inputs[i]).constant.get();
  }
  // dtype and shape of input i (precondition: present).
  const Value& input_info(size_t i) const { return g_.value(node().inputs.at(i)); }
  size_t num_outputs() const { return node().outputs.size(); }
  bool has_output(size_t i) const { return i < num_outputs() && node().outputs[i] != kNoValue; }
  // dtype and shape inferred for output i.
  const Value& output_info(size_t i) const { return g_.value(node().outputs.at(i)); }
  // A zero tensor of the inferred dtype and shape of output i.
  Tensor NewOutput(size_t i) const;
  void SetOutput(size_t i, Tensor t) { (*outputs_)[i] = std::move(t); }

 private:
  const Graph& g_;
  NodeId id_;
  std::vector<Tensor>* outputs_;
};

using InferFn = Status (*)(InferContext&);
using EvalFn = Status (*)(EvalContext&);

struct AttrSpec {
  std::string name;
  Attribute::Kind kind;
};

struct OpSchema {
  std::string op_type;
  int min_inputs = 1;
  int max_inputs = 1;   // -1: variadic
  int min_outputs = 1;
  int max_outputs = 1;
  std::vector<AttrSpec> attrs;
  InferFn infer = nullptr;
  EvalFn eval = nullptr;  // optional
  // The eval reads only its inputs' shapes (Shape, Size): it folds even when they are not constant.
  bool shape_only_eval = false;
};

class OpRegistry {
 public:
  // The registry with every op family registered (built once, then read-only).
  static const OpRegistry& Get();

  void Add(OpSchema schema);
  // Schema for an op of the default ONNX domain ("" or "ai.onnx"); nullptr if unsupported.
  const OpSchema* Find(const std::string& domain, const std::string& op_type) const;
  std::vector<std::string> OpTypes() const;

 private:
  std::map<std::string, OpSchema> ops_;
};

// One per op family file.
void RegisterElementwiseOps(OpRegistry& r);
void RegisterShapeOps(OpRegistry& r);
void RegisterConcatSplitOps(OpRegistry& r);
void RegisterIndexingOps(OpRegistry& r);
void RegisterPadOps(OpRegistry& r);
void RegisterResizeOps(OpRegistry& r);
void RegisterConstantOps(OpRegistry& r);
void RegisterConvOps(OpRegistry& r);
void RegisterPoolOps(OpRegistry& r);
void RegisterMatMulOps(OpRegistry& r);
void RegisterReduceOps(OpRegistry& r);
void RegisterNormalizationOps(OpRegistry& r);

}  // namespace opal::graph
