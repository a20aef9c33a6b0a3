#include "graph/shape_inference.h"

#include "graph/op_registry.h"
#include "opal/log.h"

namespace opal::graph {
namespace {

Status CheckArity(const Node& n, const OpSchema& s) {
  int ins = static_cast<int>(n.inputs.size());
  // Trailing omitted inputs do not count.
  while (ins > 0 && n.inputs[static_cast<size_t>(ins - 1)] == kNoValue) --ins;
  if (ins < s.min_inputs || (s.max_inputs >= 0 && ins > s.max_inputs)) {
    if (s.max_inputs < 0) {
      return Error(ErrorCode::kInvalidModel, "expects at least {} inputs, has {}", s.min_inputs, ins);
    }
    return Error(ErrorCode::kInvalidModel, "expects {}{}{} inputs, has {}", s.min_inputs,
                 s.max_inputs == s.min_inputs ? "" : " to ",
                 s.max_inputs == s.min_inputs ? "" : std::to_string(s.max_inputs), ins);
  }
  for (int i = 0; i < s.min_inputs; ++i) {
    if (n.inputs[static_cast<size_t>(i)] == kNoValue) {
      return Error(ErrorCode::kInvalidModel, "required input {} is empty", i);
    }
  }
  int outs = static_cast<int>(n.outputs.size());
  if (outs < s.min_outputs || (s.max_outputs >= 0 && outs > s.max_outputs)) {
    return Error(ErrorCode::kInvalidModel, "expects {} to {} outputs, has {}", s.min_outputs,
                 s.max_outputs, outs);
  }
  for (int i = 0; i < s.min_outputs; ++i) {
    if (n.outputs[static_cast<size_t>(i)] == kNoValue) {
      return Error(ErrorCode::kInvalidModel, "required output {} has no name", i);
    }
  }
  for (const auto& [name, attr] : n.attrs.all()) {
    for (const auto& spec : s.attrs) {
      if (spec.name == name && spec.kind != attr.kind) {
        return Error(ErrorCode::kInvalidModel, "attribute '{}' must be {}, is {}", name,
                     Attribute::KindName(spec.kind), Attribute::KindName(attr.kind));
      }
    }
  }
  return Status::Ok();
}

Status CheckSize(const Value& v, const InferOptions& o) {
  int64_t n = 1;
  for (int64_t d : v.shape) {
    if (d < 0) {
      return Error(ErrorCode::kInvalidModel, "tensor '{}' would have negative dimension ({})", v.name,
                   ShapeToString(v.shape));
    }
    if (d > 0 && n > o.max_elements / d) {
      return Error(ErrorCode::kInvalidModel,
                   "tensor '{}' would have more than {} elements (shape {}); check the input shapes",
                   v.name, o.max_elements, ShapeToString(v.shape));
    }
    n *= d;
  }
  return Status::Ok();
}

void MarkUnknown(Graph& g, const Node& n, const std::string& reason) {
  for (ValueId o : n.outputs) {
    if (o == kNoValue) continue;
    Value& v = g.mutable_value(o);
    v.shape_known = false;
    v.unknown_reason = reason;
  }
}

Status FoldNode(Graph& g, NodeId id, const OpSchema& s, const InferOptions& o) {
  const Node& n = g.node(id);
  for (ValueId in : n.inputs) {
    if (in != kNoValue && !g.value(in).constant && !s.shape_only_eval) return Status::Ok();
  }
  for (ValueId out : n.outputs) {
    if (out == kNoValue) continue;
    const Value& v = g.value(out);
    if (v.dtype == DType::kString || NumElements(v.shape) > o.fold_limit_elements) return Status::Ok();
  }
  std::vector<Tensor> results(n.outputs.size());
  EvalContext ctx(g, id, &results);
  Status st = s.eval(ctx);
  if (st.code() == ErrorCode::kUnsupported) {  // a variant the reference cannot compute: not folded
    log::Debug("{}: not folded: {}", n.Describe(), st.message());
    return Status::Ok();
  }
  OPAL_RETURN_IF_ERROR(st);
  for (size_t i = 0; i < n.outputs.size(); ++i) {
    if (n.outputs[i] == kNoValue) continue;
    Value& v = g.mutable_value(n.outputs[i]);
    if (results[i].dtype() != v.dtype || results[i].shape() != v.shape) {
      return Error(ErrorCode::kInternal,
                   "internal error: evaluation of output '{}' gave {} {}, inference said {} {}", v.name,
                   DTypeName(results[i].dtype()), ShapeToString(results[i].shape()), DTypeName(v.dtype),
                   ShapeToString(v.shape));
    }
    v.constant = std::make_shared<const Tensor>(std::move(results[i]));
  }
  return Status::Ok();
}

}  // namespace

Status InferShapes(Graph& g, const InferOptions& o, const UnsupportedNodeInference& fallback) {
  const OpRegistry& reg = OpRegistry::Get();
  for (size_t k = 0; k < g.num_nodes(); ++k) {
    auto id = static_cast<NodeId>(k);
    const Node& n = g.node(id);
    const OpSchema* s = n.supported ? reg.Find(n.domain, n.op_type) : nullptr;
    if (!s) {
      g.mutable_node(id).supported = false;
      std::string blocked;
      for (ValueId in : n.inputs) {
        if (in != kNoValue && !g.value(in).shape_known && blocked.empty()) blocked = g.value(in).unknown_reason;
      }
      std::vector<ValueHint> hints;
      if (blocked.empty() && fallback) hints = fallback(g, id);
      for (size_t i = 0; i < n.outputs.size(); ++i) {
        ValueId out = n.outputs[i];
        if (out == kNoValue) continue;
        Value& v = g.mutable_value(out);
        if (i < hints.size() && hints[i].shape && hints[i].dtype != DType::kUndefined) {
          v.dtype = hints[i].dtype;
          v.shape = *hints[i].shape;
          v.shape_known = true;
          OPAL_RETURN_IF_ERROR(CheckSize(v, o).WithContext(n.Describe()));
        } else {
          v.shape_known = false;
          if (i < hints.size()) v.dtype = hints[i].dtype;
          v.unknown_reason = blocked.empty()
                                 ? "it is computed by unsupported operator " + n.op_type + " ('" + n.name + "')"
                                 : blocked;
        }
      }
      continue;
    }
    OPAL_RETURN_IF_ERROR(CheckArity(n, *s).WithContext(n.Describe()));
    std::string unknown;
    for (ValueId in : n.inputs) {
      if (in != kNoValue && !g.value(in).shape_known) {
        unknown = g.value(in).unknown_reason.empty() ? "input '" + g.value(in).name + "' has no known shape"
                                                      : g.value(in).unknown_reason;
        break;
      }
    }
    if (!unknown.empty()) {
      MarkUnknown(g, n, unknown);
      continue;
    }
    InferContext ctx(g, id);
    OPAL_RETURN_IF_ERROR(s->infer(ctx).WithContext(n.Describe()));
    for (ValueId out : n.outputs) {
      if (out == kNoValue) continue;
      const Value& v = g.value(out);
      if (!v.shape_known || v.dtype == DType::kUndefined) {
        return Error(ErrorCode::kInternal, "internal error: {} left output '{}' without a type",
                     n.Describe(), v.name);
      }
      OPAL_RETURN_IF_ERROR(CheckSize(v, o).WithContext(n.Describe()));
    }
    if (s->eval) OPAL_RETURN_IF_ERROR(FoldNode(g, id, *s, o).WithContext(n.Describe()));
  }
  return Status::Ok();
}

}  // namespace opal::graph
