// The training job the planner plans for: a model cut into layers (the units a pipeline stage
// takes whole), with per-layer work, parameters and activations, plus the batch and length of
// the job. Built from a transformer configuration, from an ONNX forward graph (cut where a single
// activation crosses), or given by measured profiles (Sailor format, see plan_perf.h).
//
// All per-layer quantities are per *sample* (one sequence) of the forward pass and unsharded
// (tensor parallelism divides them later). Errors: kNotFound/kIo for files, kInvalidModel for
// malformed content or non-positive sizes, naming the file and field.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "opal/graph.h"
#include "opal/json.h"
#include "opal/status.h"

namespace opal::plan {

struct LayerSpec {
  std::string name;
  double matmul_flops = 0;    // forward FLOP per sample in matrix products (tensor cores)
  double other_bytes = 0;     // forward memory traffic per sample of the other operators
  double params = 0;          // parameter count
  double out_bytes = 0;       // bytes per sample of the activation sent to the next layer
  double act_bytes = 0;       // bytes per sample kept for backward, divided by tensor parallelism
  double act_replicated = 0;  // bytes per sample kept for backward on every tensor-parallel rank
  int tp_allreduces = 0;      // forward all-reduces of out_bytes under tensor parallelism
  // Bytes per sample kept exactly, outside the memory coefficients' activation scale, divided
  // by tensor parallelism: the head's fp32 logits, log-probabilities and their gradient (12 B per
  // token and vocabulary entry), which the loss materialises in full. Last, so that positional
  // initializers of the fields above keep their meaning.
  double act_exact = 0;
};

struct TransformerConfig {
  std::string name = "transformer";
  int layers = 0, hidden = 0, heads = 0, seq_len = 0, vocab = 0, ffn = 0;  // ffn 0: 4*hidden
  int dtype_bytes = 2;  // fp16/bf16 = 2, fp32 = 4
  std::string optimizer = "adam";
  bool recompute = false;    // full activation recomputation (keep only each layer's input)
  int64_t global_batch = 0;  // sequences per iteration
  int64_t iterations = 0;    // or derived from tokens
  double tokens = 0;
};

struct ModelSpec {
  std::string name;
  std::vector<LayerSpec> layers;
  int seq_len = 1;
  int dtype_bytes = 2;
  double state_bytes_per_param = 16;  // weights + grads + optimizer state (Adam mixed precision)
  bool recompute = false;             // backward re-runs the forward (layer times: bwd += fwd)
  // Parameters the first and the last layer share (a tied embedding and LM projection): when
  // they sit on different stages, their gradients are summed across those stages every step.
  double tied_params = 0;
  int64_t global_batch = 1;
  int64_t iterations = 0;  // 0: unknown (job-level goals need it)
  double TotalParams() const;
};

// Layers: embedding, `layers` transformer blocks, head (final norm + LM projection + loss).
// Precondition-free: invalid sizes are kInvalidModel.
Result<ModelSpec> ModelFromTransformer(const TransformerConfig& config);
// Reads a transformer JSON ({"layers"|"num_layers", "hidden"|"hidden_size", "heads",
// "seq_len"|"sequence_length", "vocab"|"vocab_size", "ffn", "precision": "fp16|bf16|fp32" (default
// fp32, what DeepSpeed and PyTorch train in unless told otherwise),
// "optimizer", "global_batch"|"global_batch_size", "iterations" | "tokens"}). Sailor's
// training_config_*.json files are accepted as they are.
Result<TransformerConfig> LoadTransformerConfig(const std::string& path);
Result<TransformerConfig> TransformerConfigFromJson(const Json& j, const std::string& origin);

// Cuts an imported forward graph into layers at values that alone connect the nodes before
// them to the nodes after them (initializers aside), e.g. the residual stream between
// transformer blocks. `batch` is the batch dimension of the graph's inputs (divides the
// per-sample figures). Layers with little work are merged into their neighbour so that no more
// than `max_layers` remain. kInvalidModel when a shape is unknown.
Result<ModelSpec> ModelFromGraph(const Graph& graph, int64_t batch, int max_layers = 128);

}  // namespace opal::plan
