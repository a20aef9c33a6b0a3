// Job input: the transformer's work and sizes against published formulas, and the cutting of an
// ONNX graph into layers.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "opal/onnx_import.h"
#include "opal/plan_model.h"
#include "testing/onnx_model_builder.h"

namespace opal::plan {
namespace {

TransformerConfig Gpt3() {
  TransformerConfig c;
  c.name = "GPT-3";
  c.layers = 96;
  c.hidden = 12288;
  c.heads = 96;
  c.seq_len = 2048;
  c.vocab = 50257;
  c.global_batch = 1536;
  c.tokens = 300e9;
  return c;
}

TEST(TransformerModel, Gpt3HasAbout175BillionParameters) {
  ModelSpec m = *ModelFromTransformer(Gpt3());
  ASSERT_EQ(m.layers.size(), 98u);  // embedding, 96 blocks, head
  // The head keeps its own copy of the (tied) embedding under pipelining: count it once.
  double params = m.TotalParams() - m.layers.back().params;
  EXPECT_NEAR(params / 175e9, 1.0, 0.01);  // Brown et al. 2020: 175.0 B
  EXPECT_EQ(m.iterations, static_cast<int64_t>(std::ceil(300e9 / (2048.0 * 1536))));
}

TEST(TransformerModel, FlopsMatchNarayananEtAl) {
  // Narayanan et al. 2021 (Megatron-LM, eq. 3): FLOPs per iteration with recomputation
  // 96 B s l h^2 (1 + s / (6 h) + V / (16 l h)).
  ModelSpec m = *ModelFromTransformer(Gpt3());
  double B = 1536, s = 2048, l = 96, h = 12288, V = 50257;
  double expected = 96 * B * s * l * h * h * (1 + s / (6 * h) + V / (16 * l * h));
  double blocks = 0;
  for (size_t i = 1; i + 1 < m.layers.size(); ++i) blocks += m.layers[i].matmul_flops;
  double ours = B * (4 * blocks + 3 * m.layers.back().matmul_flops);  // fwd, 2x bwd, recompute
  EXPECT_NEAR(ours / expected, 1.0, 1e-9);
}

TEST(TransformerModel, ActivationsFollowKorthikanti) {
  // Korthikanti et al. 2022: s b h (34 + 5 a s / h) bytes per layer without recomputation.
  TransformerConfig c = Gpt3();
  ModelSpec m = *ModelFromTransformer(c);
  const LayerSpec& l = m.layers[5];
  double s = 2048, h = 12288, a = 96;
  EXPECT_NEAR(l.act_bytes + l.act_replicated, s * h * (34 + 5 * a * s / h), 1);
  c.recompute = true;
  ModelSpec r = *ModelFromTransformer(c);
  EXPECT_EQ(r.layers[5].act_bytes, 0);
  EXPECT_EQ(r.layers[5].act_replicated, 2 * s * h);
}

TEST(TransformerModel, HeadKeepsItsFp32LogitsExactly) {
  // fp32 logits, log-probabilities and the logits' gradient: 3 x 4 B per token and vocabulary
  // entry, outside the activation scale; no block keeps any.
  TransformerConfig c = Gpt3();
  ModelSpec m = *ModelFromTransformer(c);
  EXPECT_DOUBLE_EQ(m.layers.back().act_exact, 12.0 * c.seq_len * c.vocab);
  EXPECT_EQ(m.layers.back().act_bytes, 0);
  for (size_t i = 0; i + 1 < m.layers.size(); ++i) EXPECT_EQ(m.layers[i].act_exact, 0);
}

TEST(TransformerModel, BadConfigsAreModelErrors) {
  TransformerConfig c = Gpt3();
  c.hidden = 0;
  EXPECT_EQ(ModelFromTransformer(c).status().code(), ErrorCode::kInvalidModel);
  c = Gpt3();
  c.optimizer = "lion";
  EXPECT_EQ(ModelFromTransformer(c).status().code(), ErrorCode::kInvalidModel);
  EXPECT_EQ(LoadTransformerConfig("/nonexistent.json").status().code(), ErrorCode::kNotFound);
}

// Counts in a config file are whole numbers in range: found by the plan fuzzer, a "hidden" of
// 1e11 was cast to int (undefined behaviour). Each bad count is an error naming its field.
TEST(TransformerModel, CountsOutOfRangeOrFractionalAreErrors) {
  const Json ok = Json::parse(R"({"layers": 24, "hidden": 1024, "heads": 16, "seq_len": 2048,
                                   "vocab": 50272, "global_batch": 256})");
  ASSERT_TRUE(TransformerConfigFromJson(ok, "m.json").ok());
  for (const auto& [field, value] : std::vector<std::pair<std::string, Json>>{{"hidden", 1e11},
                                                                              {"layers", 2.5},
                                                                              {"heads", 0},
                                                                              {"global_batch", -4},
                                                                              {"seq_len", 1e300}}) {
    Json j = ok;
    j[field] = value;
    auto c = TransformerConfigFromJson(j, "m.json");
    ASSERT_FALSE(c.ok()) << field;
    EXPECT_EQ(c.status().code(), ErrorCode::kInvalidModel) << field;
    EXPECT_NE(c.status().message().find("'" + field + "'"), std::string::npos)
        << c.status().message();
    EXPECT_NE(c.status().message().find("whole number"), std::string::npos) << c.status().message();
  }
}

TEST(GraphLayers, CutsWhereOneActivationCrosses) {
  // x -> [MatMul w1 -> Relu] -> [MatMul w2 -> Add(+ its input)] -> [MatMul w3] -> y
  // The residual Add keeps two values alive inside the second block: no cut there.
  testing::OnnxModelBuilder b;
  b.Input("x", {4, 16})
      .Initializer("w1", {16, 32})
      .Initializer("w2", {32, 32})
      .Initializer("w3", {32, 8});
  b.Node("MatMul", {"x", "w1"}, {"a"}, "mm1");
  b.Node("Relu", {"a"}, {"r"}, "relu");
  b.Node("MatMul", {"r", "w2"}, {"c"}, "mm2");
  b.Node("Add", {"c", "r"}, {"d"}, "residual");
  b.Node("MatMul", {"d", "w3"}, {"y"}, "mm3");
  b.Output("y");
  auto g = ImportOnnxBytes(b.Bytes());
  ASSERT_TRUE(g.ok()) << g.status().message();
  auto m = ModelFromGraph(*g, 4);
  ASSERT_TRUE(m.ok()) << m.status().message();
  // Boundaries: after mm1 (a), after relu (r), after residual (d) -> 4 layers.
  ASSERT_EQ(m->layers.size(), 4u);
  EXPECT_EQ(m->layers[0].name, "mm1");
  EXPECT_EQ(m->layers[2].name, "mm2");  // mm2 and the residual stay together
  double flops = 0, params = 0;
  for (const auto& l : m->layers) flops += l.matmul_flops, params += l.params;
  EXPECT_DOUBLE_EQ(flops, 2.0 * (16 * 32 + 32 * 32 + 32 * 8));  // per sample
  EXPECT_DOUBLE_EQ(params, 16 * 32 + 32 * 32 + 32 * 8);
  EXPECT_DOUBLE_EQ(m->layers[0].out_bytes, 32 * 4);  // one fp32 row of 'a'
  EXPECT_DOUBLE_EQ(m->layers[2].out_bytes, 32 * 4);
  auto merged = ModelFromGraph(*g, 4, 2);
  ASSERT_TRUE(merged.ok());
  EXPECT_EQ(merged->layers.size(), 2u);
}

}  // namespace
}  // namespace opal::plan
