#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "opal/plan_model.h"
#include "plan/json_read.h"

namespace opal::plan {

double ModelSpec::TotalParams() const {
  double n = 0;
  for (const auto& l : layers) n += l.params;
  return n;
}

Result<ModelSpec> ModelFromTransformer(const TransformerConfig& c) {
  auto bad = [&](const char* what, double v) {
    return Error(ErrorCode::kInvalidModel, "transformer '{}': {} must be > 0, got {}", c.name, what,
                 v);
  };
  if (c.layers <= 0) return bad("layers", c.layers);
  if (c.hidden <= 0) return bad("hidden size", c.hidden);
  if (c.heads <= 0) return bad("heads", c.heads);
  if (c.seq_len <= 0) return bad("sequence length", c.seq_len);
  if (c.vocab <= 0) return bad("vocabulary", c.vocab);
  if (c.global_batch <= 0) return bad("global batch", static_cast<double>(c.global_batch));
  if (c.dtype_bytes != 2 && c.dtype_bytes != 4)
    return Error(ErrorCode::kInvalidModel, "transformer '{}': precision must be 2 or 4 bytes",
                 c.name);
  const double s = c.seq_len, h = c.hidden, a = c.heads, v = c.vocab, p = c.dtype_bytes;
  const double f = c.ffn > 0 ? c.ffn : 4 * h;
  ModelSpec m;
  m.name = c.name;
  m.seq_len = c.seq_len;
  m.dtype_bytes = c.dtype_bytes;
  m.global_batch = c.global_batch;
  m.iterations = c.iterations;
  m.recompute = c.recompute;
  if (m.iterations <= 0 && c.tokens > 0)
    m.iterations =
        static_cast<int64_t>(std::ceil(c.tokens / (s * static_cast<double>(c.global_batch))));
  std::string opt = c.optimizer;
  std::transform(opt.begin(), opt.end(), opt.begin(), ::tolower);
  if (opt == "sgd")
    m.state_bytes_per_param = p == 2 ? 12 : 8;  // momentum (+ fp32 master copy)
  else if (opt == "adam" || opt == "adamw")
    m.state_bytes_per_param = 16;
  else
    return Error(ErrorCode::kInvalidModel,
                 "transformer '{}': unknown optimizer '{}' (adam, adamw, sgd)", c.name,
                 c.optimizer);

  // Embedding: token gather + position add + dropout. Vocab-parallel under tensor parallelism.
  LayerSpec emb{"embedding", 0, p * s * h * 4, v * h + s * h, p * s * h, p * s * h, s * h, 1};
  m.layers.push_back(emb);
  // Transformer block (Megatron layout). FLOP: QKV 6sh^2, out 2sh^2, FFN 4shf, scores+context
  // 4s^2h. Other traffic: 2 layer norms, 2 residual adds, 2 dropouts on s*h; bias+GeLU on s*f;
  // scale/mask, softmax and dropout on the a*s*s scores. Activation memory per Korthikanti et
  // al. 2022 (no recomputation): s*h*(10 + 24/t) + 5*a*s^2/t bytes for fp16.
  for (int i = 0; i < c.layers; ++i) {
    LayerSpec l;
    l.name = fmt::format("block{}", i);
    l.matmul_flops = 2 * s * (4 * h * h + 2 * h * f) + 4 * s * s * h;
    l.other_bytes = p * (14 * s * h + 2 * s * f + 6 * a * s * s);
    l.params = 4 * h * h + 2 * h * f + 9 * h + f;
    l.out_bytes = p * s * h;
    l.act_bytes = (p / 2) * (24 * s * h * (f / (4 * h)) + 5 * a * s * s);
    l.act_replicated = (p / 2) * 10 * s * h;
    l.tp_allreduces = 2;
    m.layers.push_back(l);
  }
  // Head: final layer norm, LM projection (its own copy of the embedding under pipelining),
  // softmax cross-entropy in fp32: the fp32 logits, their log-probabilities and the gradient of
  // the logits are kept exactly (act_exact: the measured peaks put them at 1.7x the activation
  // scale's reading of s*v*(p+4), i.e. at their full 12 B per entry).
  LayerSpec head{
      "head", 2 * s * h * v, s * v * (p + 12) + p * s * h * 2, v * h + 2 * h, 0, 0, 2 * p * s * h,
      1};
  head.act_exact = 12 * s * v;
  m.layers.push_back(head);
  m.tied_params = v * h;  // the LM projection is the embedding's matrix (GPT-2, OPT, GPT-Neo)
  if (c.recompute) {      // only each layer's input is kept; the rest is rebuilt in the backward
    for (auto& l : m.layers) {
      l.act_bytes = 0;
      l.act_exact = 0;
      l.act_replicated = p * s * h;
    }
  }
  return m;
}

Result<TransformerConfig> TransformerConfigFromJson(const Json& j, const std::string& origin) {
  JsonReader r(j, origin);
  // Counts are whole numbers in range (a fuzzed "hidden": 1e11 was cast to int).
  constexpr int64_t kMaxInt = 1 << 30, kMaxCount = int64_t{1} << 50;
  auto pick = [&](const char* a, const char* b, int64_t lo, int64_t hi) {
    return r.Has(a) ? r.Count(a, lo, hi) : r.Count(b, lo, hi);
  };
  TransformerConfig c;
  c.name = r.OptStr("model", r.OptStr("name", "transformer"));
  c.layers = static_cast<int>(pick("layers", "num_layers", 1, kMaxInt));
  c.hidden = static_cast<int>(pick("hidden", "hidden_size", 1, kMaxInt));
  c.heads = static_cast<int>(r.Count("heads", 1, kMaxInt));
  c.seq_len = static_cast<int>(pick("seq_len", "sequence_length", 1, kMaxInt));
  c.vocab = static_cast<int>(pick("vocab", "vocab_size", 1, kMaxInt));
  c.ffn = static_cast<int>(r.OptCount("ffn", 0, 0, kMaxInt));
  c.global_batch = pick("global_batch", "global_batch_size", 1, kMaxCount);
  c.iterations = r.OptCount("iterations", 0, 0, kMaxCount);
  c.tokens = r.OptNum("tokens", 0);
  c.optimizer = r.OptStr("optimizer", "adam");
  // A configuration that names no precision trains as DeepSpeed and PyTorch do by default, in
  // fp32 (Sailor's training configurations: their profiled layer times reach 60-85 % of the fp32
  // peak on Volta and Turing, where fp16 tensor cores would make them several times faster).
  std::string prec = r.OptStr("precision", "fp32");
  if (r.Has("recompute")) {
    if (!j["recompute"].is_boolean())
      return Error(ErrorCode::kInvalidModel, "{}: 'recompute' must be true or false", origin);
    c.recompute = j["recompute"].get<bool>();
  }
  OPAL_RETURN_IF_ERROR(r.status());
  if (prec == "fp16" || prec == "bf16")
    c.dtype_bytes = 2;
  else if (prec == "fp32")
    c.dtype_bytes = 4;
  else
    return Error(ErrorCode::kInvalidModel, "{}: precision '{}' is not fp16, bf16 or fp32", origin,
                 prec);
  return c;
}

Result<TransformerConfig> LoadTransformerConfig(const std::string& path) {
  OPAL_ASSIGN_OR_RETURN(Json j, ReadJsonFile(path, "model"));
  return TransformerConfigFromJson(j, path);
}

}  // namespace opal::plan
