// The matrix products of one layer of a transformer (ModelFromTransformer's layout) as op-level
// workloads (include/opal/workload.h), for the sources that look times up per operator: the
// tuning-record store and the cost model. Internal to opal_plan.
//
// For micro-batch `mbs` per replica and tensor-parallel degree t (Megatron sharding: QKV and
// FFN-up column-parallel, attention-out and FFN-down row-parallel, heads split over ranks) with
// tokens m = mbs * seq_len, hidden h, ffn f, heads a, head dim d = h/a, vocab v:
//   qkv       dense        m x 3h/t x h
//   attn_out  dense        m x h x h/t
//   ffn_up    dense        m x f/t x h
//   ffn_down  dense        m x h x f/t
//   scores    batch_matmul mbs*a/t x (s x s x d)
//   context   batch_matmul mbs*a/t x (s x d x s)
//   lm_head   dense        m x v/t x h          (the head layer)
// Forward dense products are X[m,k] * W[k,n] (trans_a = trans_b = false, as ONNX MatMul). Their
// backward: dgrad dX = dY * W^T (m x k x n, trans_b) and wgrad dW = X^T * dY (k x n x m,
// trans_a); for batch_matmul (no transpose flags) the same shapes: dA (m x k x n) and
// dB (k x n x m). Together the products carry exactly LayerSpec::matmul_flops * mbs / t.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "opal/json.h"
#include "opal/plan_model.h"

namespace opal::plan {

struct LayerGemm {
  std::string name;  // "qkv", "scores", ...
  Json fwd;          // workload JSON without "dtype" (the caller picks the dtype)
  Json dgrad, wgrad;
};

// The products of `layer` of `model`, built by ModelFromTransformer(`shape`); nullopt when the
// layer has none (embedding), when `model` does not match `shape` (layer count or names), or when
// t does not divide h, f, the heads or the vocabulary.
std::optional<std::vector<LayerGemm>> LayerGemms(const TransformerConfig& shape,
                                                 const ModelSpec& model, int layer, int mbs,
                                                 int tp);

// Workload dtypes of the model's precision, in lookup order: 2 bytes -> float16, bfloat16 (the
// model file's fp16/bf16 distinction is not kept; both run at the same tensor-core rate);
// 4 bytes -> float32.
std::vector<std::string> GemmDtypes(int dtype_bytes);

// `w` with "dtype" set.
Json WithDtype(const Json& w, const std::string& dtype);

}  // namespace opal::plan
