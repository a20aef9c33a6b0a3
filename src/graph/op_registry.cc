#include "graph/op_registry.h"

namespace opal::graph {

void InferContext::SetOutput(size_t i, DType dtype, Shape shape) {
  if (!has_output(i)) return;
  Value& v = g_.mutable_value(node().outputs[i]);
  v.dtype = dtype;
  v.shape = std::move(shape);
  v.shape_known = true;
  v.unknown_reason.clear();
}

Tensor EvalContext::NewOutput(size_t i) const {
  const Value& v = output_info(i);
  return Tensor(v.dtype, v.shape);
}

const OpRegistry& OpRegistry::Get() {
  static const OpRegistry* registry = [] {
    auto* r = new OpRegistry();
    RegisterElementwiseOps(*r);
    RegisterShapeOps(*r);
    RegisterConcatSplitOps(*r);
    RegisterIndexingOps(*r);
    RegisterPadOps(*r);
    RegisterResizeOps(*r);
    RegisterConstantOps(*r);
    RegisterConvOps(*r);
    RegisterPoolOps(*r);
    RegisterMatMulOps(*r);
    RegisterReduceOps(*r);
    RegisterNormalizationOps(*r);
    return r;
  }();
  return *registry;
}

void OpRegistry::Add(OpSchema schema) {
  OPAL_CHECK(schema.infer != nullptr, "op {} has no infer function", schema.op_type);
  OPAL_CHECK(!ops_.count(schema.op_type), "op {} registered twice", schema.op_type);
  std::string key = schema.op_type;
  ops_.emplace(std::move(key), std::move(schema));
}

const OpSchema* OpRegistry::Find(const std::string& domain, const std::string& op_type) const {
  if (!domain.empty() && domain != "ai.onnx") return nullptr;
  auto it = ops_.find(op_type);
  return it == ops_.end() ? nullptr : &it->second;
}

std::vector<std::string> OpRegistry::OpTypes() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : ops_) out.push_back(k);
  return out;
}

}  // namespace opal::graph
