#include "plan/layer_gemms.h"

#include <fmt/format.h>

namespace opal::plan {
namespace {

Json Dense(int64_t m, int64_t n, int64_t k, bool ta, bool tb) {
  return {{"op", "dense"}, {"m", m}, {"n", n}, {"k", k}, {"trans_a", ta}, {"trans_b", tb}};
}

Json Bmm(int64_t b, int64_t m, int64_t n, int64_t k) {
  return {{"op", "batch_matmul"}, {"batch", b}, {"m", m}, {"n", n}, {"k", k},
          {"broadcast", "none"}};
}

// Y[m,n] = X[m,k] W[k,n] and its two backward products.
LayerGemm DenseGemm(std::string name, int64_t m, int64_t n, int64_t k) {
  return {std::move(name), Dense(m, n, k, false, false), Dense(m, k, n, false, true),
          Dense(k, n, m, true, false)};
}

LayerGemm BmmGemm(std::string name, int64_t b, int64_t m, int64_t n, int64_t k) {
  return {std::move(name), Bmm(b, m, n, k), Bmm(b, m, k, n), Bmm(b, k, n, m)};
}

}  // namespace

std::optional<std::vector<LayerGemm>> LayerGemms(const TransformerConfig& c, const ModelSpec& model,
                                                 int layer, int mbs, int tp) {
  const int n_layers = static_cast<int>(model.layers.size());
  if (c.layers <= 0 || n_layers != c.layers + 2 || layer < 0 || layer >= n_layers || mbs <= 0 ||
      tp <= 0 || c.hidden <= 0 || c.heads <= 0 || c.seq_len != model.seq_len)
    return std::nullopt;
  const int64_t s = c.seq_len, h = c.hidden, a = c.heads, v = c.vocab;
  const int64_t f = c.ffn > 0 ? c.ffn : 4 * h;
  const int64_t m = static_cast<int64_t>(mbs) * s, t = tp;
  const std::string& name = model.layers[layer].name;
  if (layer == n_layers - 1 && name == "head") {
    if (v % t) return std::nullopt;
    return std::vector<LayerGemm>{DenseGemm("lm_head", m, v / t, h)};
  }
  if (name != fmt::format("block{}", layer - 1)) return std::nullopt;  // embedding, or a mismatch
  if (h % a || a % t || h % t || f % t) return std::nullopt;
  const int64_t d = h / a, b = static_cast<int64_t>(mbs) * (a / t);
  return std::vector<LayerGemm>{
      DenseGemm("qkv", m, 3 * h / t, h), DenseGemm("attn_out", m, h, h / t),
      DenseGemm("ffn_up", m, f / t, h),  DenseGemm("ffn_down", m, h, f / t),
      BmmGemm("scores", b, s, s, d),     BmmGemm("context", b, s, d, s),
  };
}

std::vector<std::string> GemmDtypes(int dtype_bytes) {
  if (dtype_bytes == 2) return {"float16", "bfloat16"};
  return {"float32"};
}

Json WithDtype(const Json& w, const std::string& dtype) {
  Json j = w;
  j["dtype"] = dtype;
  return j;
}

}  // namespace opal::plan
