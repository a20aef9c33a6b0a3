// DeepBench files -> records -> a real SQLite store -> GPU operator samples -> the GPU operator
// model, leave one GPU type out, and layer times built from operators. Expected values are
// computed here from the inputs (the CSV rows, the definitions of the workloads), not by the code
// under test.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "opal/deepbench.h"
#include "opal/plan_gpu_ops.h"
#include "opal/record_store.h"
#include "opal/workload.h"

namespace opal::plan {
namespace {

namespace fs = std::filesystem;
const std::string kCatalog = std::string(OPAL_SOURCE_DIR) + "/data/catalog";
const std::string kDeepBench = std::string(OPAL_SHARED_DATA) + "/deepbench";

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("opal_gpu_ops_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string Write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name) << text;
    return (path_ / name).string();
  }
  std::string Path(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
  static inline int counter_ = 0;
};

const char* kGemmHeader = "gpu,precision,M,N,K,a_trans,b_trans,time_ms\n";
const char* kConvHeader =
    "gpu,precision,W,H,C,N,K,S,R,pad_w,pad_h,stride_w,stride_h,fwd_ms,bwd_inputs_ms,"
    "bwd_params_ms\n";

std::map<std::string, Target> Targets() {
  auto t = LoadGpuTargets(kCatalog + "/targets.json");
  EXPECT_TRUE(t.ok());
  auto a = LoadGpuAliases(kCatalog + "/targets.json");
  EXPECT_TRUE(a.ok());
  return WithAliases(*t, *a);
}

TEST(DeepBench, GemmsAreRowMajorDenseWorkloadsOfTheSameComputation) {
  TempDir dir;
  const std::string f =
      dir.Write("gemm.csv", std::string(kGemmHeader) + "V100,fp16,1760,16,1760,T,N,0.02\n");
  auto data = ReadDeepBench({f});
  ASSERT_TRUE(data.ok()) << data.status().message();
  ASSERT_EQ(data->gemms.size(), 1u);
  // cuBLAS's column-major C[1760,16] = A^T B is row-major C^T[16,1760] = B^T A: m = 16, n = 1760,
  // the second operand transposed.
  const Json w = DeepBenchGemmWorkload(data->gemms[0]);
  EXPECT_EQ(w["m"], 16);
  EXPECT_EQ(w["n"], 1760);
  EXPECT_EQ(w["k"], 1760);
  EXPECT_EQ(w["trans_a"], false);
  EXPECT_EQ(w["trans_b"], true);
  EXPECT_EQ(w["dtype"], "float16");
  auto made = MakeDeepBenchRecords(*data, Targets());
  ASSERT_TRUE(made.ok()) << made.status().message();
  ASSERT_EQ(made->records.size(), 1u);
  const Record& r = made->records[0];
  EXPECT_EQ(r.target_key, Targets().at("V100-16").ExactKey());  // "V100" is an alias
  EXPECT_EQ(r.framework, "cublas");
  EXPECT_DOUBLE_EQ(r.median_s, 0.02e-3);
  EXPECT_NEAR(r.gflops, 2.0 * 1760 * 16 * 1760 / 0.02e-3 / 1e9, 1e-6);
  EXPECT_NE(r.config_json.find("Baidu"), std::string::npos);
  EXPECT_NE(r.provenance.host.find("DeepBench"), std::string::npos);
  // The same rows give the same records (uid): importing twice adds nothing.
  auto again = MakeDeepBenchRecords(*data, Targets());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->records[0].uid, r.uid);
}

TEST(DeepBench, ConvolutionForwardIsAConv2dAndTheBackwardPassesAreCounted) {
  TempDir dir;
  dir.Write("conv.csv",
            std::string(kConvHeader) + "P100,fp32,341,79,32,4,32,10,5,0,0,2,2,0.402,1.483,0.446\n");
  auto data = ReadDeepBench({dir.Path("")});  // a directory: its conv.csv
  ASSERT_TRUE(data.ok()) << data.status().message();
  ASSERT_EQ(data->convs.size(), 1u);
  const Json w = DeepBenchConvWorkload(data->convs[0]);
  EXPECT_EQ(w["kw"], 10);  // S is the filter width
  EXPECT_EQ(w["kh"], 5);
  EXPECT_EQ(w["h"], 79);
  EXPECT_EQ(w["w"], 341);
  auto wl = Workload::FromJson(w);
  ASSERT_TRUE(wl.ok()) << wl.status().message();
  // Output 38 x 166: (79 - 5) / 2 + 1, (341 - 10) / 2 + 1.
  EXPECT_DOUBLE_EQ(wl->Flops(), 2.0 * 4 * 32 * 38 * 166 * 32 * 5 * 10);
  auto made = MakeDeepBenchRecords(*data, Targets());
  ASSERT_TRUE(made.ok());
  EXPECT_EQ(made->convs, 1);
  EXPECT_EQ(made->conv_backward_left_out, 2);
  EXPECT_EQ(made->records[0].framework, "cudnn");
}

TEST(DeepBench, BadFilesAreOneLineErrors) {
  TempDir dir;
  auto bad = [&](const std::string& text) {
    auto r = ReadDeepBench({dir.Write("x.csv", text)});
    EXPECT_FALSE(r.ok());
    return r.ok() ? std::string() : r.status().message();
  };
  EXPECT_NE(bad("a,b,c\n1,2,3\n").find("not a DeepBench CSV"), std::string::npos);
  EXPECT_NE(bad(std::string(kGemmHeader) + "V100,fp16,1760,16\n").find("x.csv:2"),
            std::string::npos);
  EXPECT_NE(bad(std::string(kGemmHeader) + "V100,int8,1,1,1,N,N,0.1\n").find("precision"),
            std::string::npos);
  EXPECT_NE(bad(std::string(kGemmHeader) + "V100,fp32,0,1,1,N,N,0.1\n").find("M"),
            std::string::npos);
  EXPECT_NE(bad(std::string(kGemmHeader) + "V100,fp32,1,1,1,X,N,0.1\n").find("a_trans"),
            std::string::npos);
  EXPECT_NE(bad(std::string(kConvHeader) + "V100,fp32,4,4,1,1,1,9,9,0,0,1,1,1,1,1\n")
                .find("larger than the padded input"),
            std::string::npos);
  EXPECT_EQ(ReadDeepBench({dir.Path("missing.csv")}).status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(ReadDeepBench({dir.Path("")}).status().code(), ErrorCode::kNotFound);  // empty dir
  auto data = ReadDeepBench(
      {dir.Write("g.csv", std::string(kGemmHeader) + "RTX-9999,fp32,8,8,8,N,N,0.1\n")});
  ASSERT_TRUE(data.ok());
  auto made = MakeDeepBenchRecords(*data, Targets());
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(made.status().message().find("RTX-9999"), std::string::npos);
}

TEST(GpuSpecOf, CatalogGpusDescribeTheirTargets) {
  auto catalog = LoadCatalog(kCatalog + "/gpus.json");
  ASSERT_TRUE(catalog.ok());
  auto targets = LoadGpuTargets(kCatalog + "/targets.json");
  ASSERT_TRUE(targets.ok());
  for (const auto& g : catalog->gpus) {
    const GpuSpec s = GpuSpecOf(g);
    EXPECT_GT(s.sms, 0) << g.name;
    EXPECT_GT(s.l2_bytes, 0) << g.name;
    auto t = targets->find(g.name);
    ASSERT_NE(t, targets->end()) << g.name;
    // The catalog's SMs and compute capability are the target's cores and arch.
    EXPECT_EQ(t->second.cores, s.sms) << g.name;
    EXPECT_EQ(t->second.arch, "sm_" + std::to_string(s.compute_capability)) << g.name;
  }
}

// The shared DeepBench results through a real SQLite store.
class DeepBenchStore : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(kDeepBench)) << "no DeepBench data at " << kDeepBench;
    auto catalog = LoadCatalog(kCatalog + "/gpus.json");
    ASSERT_TRUE(catalog.ok());
    catalog_ = *catalog;
    auto data = ReadDeepBench({kDeepBench});
    ASSERT_TRUE(data.ok()) << data.status().message();
    data_ = *data;
    auto made = MakeDeepBenchRecords(data_, Targets());
    ASSERT_TRUE(made.ok()) << made.status().message();
    auto store = RecordStore::Open("sqlite:" + dir_.Path("records.db"));
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(*store);
    ASSERT_TRUE(store_->Put(made->records).ok());
  }
  TempDir dir_;
  Catalog catalog_;
  DeepBenchData data_;
  std::unique_ptr<RecordStore> store_;
};

TEST_F(DeepBenchStore, EveryRowIsASampleOfItsGpu) {
  auto samples =
      StoreGpuOpSamples(*store_, catalog_, LoadGpuTargets(kCatalog + "/targets.json").value());
  ASSERT_TRUE(samples.ok()) << samples.status().message();
  // One sample per distinct (workload, GPU): count them from the rows.
  std::set<std::pair<std::string, std::string>> distinct;
  for (const auto& g : data_.gemms)
    distinct.insert({g.gpu, Workload::FromJson(DeepBenchGemmWorkload(g))->Key()});
  for (const auto& c : data_.convs)
    distinct.insert({c.gpu, Workload::FromJson(DeepBenchConvWorkload(c))->Key()});
  EXPECT_EQ(samples->size(), distinct.size());
  std::set<std::string> gpus;
  for (const auto& s : *samples) gpus.insert(s.gpu);
  EXPECT_EQ(gpus, (std::set<std::string>{"GTX-1080Ti", "P100", "V100-16"}));
}

// Leave one GPU type out: the model must do better than scaling each op's time on the other GPUs
// by the ratio of matrix-product peaks (computed here).
TEST_F(DeepBenchStore, LeaveOneGpuOutBeatsThePeakRatio) {
  auto samples =
      DeepBenchGpuOpSamples(data_, catalog_, LoadGpuAliases(kCatalog + "/targets.json").value());
  ASSERT_TRUE(samples.ok()) << samples.status().message();
  const auto specs = GpuSpecs(catalog_);
  auto rows = LeaveOneGpuOut(*samples, specs);
  ASSERT_TRUE(rows.ok()) << rows.status().message();
  double model = 0, base = 0;
  int64_t n = 0;
  for (const auto& held : {"GTX-1080Ti", "P100", "V100-16"}) {
    for (const auto& s : *samples) {
      if (s.gpu != held || s.op.dtype != "float32" || s.op.pass != GpuOpPass::kGemm) continue;
      double log_sum = 0;
      int k = 0;
      for (const auto& o : *samples)
        if (o.gpu != held && o.op.Key() == s.op.Key()) {
          log_sum += std::log(o.seconds * specs.at(o.gpu).fp32_flops / specs.at(held).fp32_flops);
          ++k;
        }
      ASSERT_GT(k, 0);
      base += std::fabs(std::exp(log_sum / k) - s.seconds) / s.seconds;
      ++n;
    }
  }
  for (const auto& r : *rows)
    if (r.dtype == "float32" && r.pass == GpuOpPass::kGemm) model += r.mape / 100 * r.samples;
  EXPECT_LT(model / n, base / n);
  EXPECT_EQ(rows->size(), 3u * 4 + 2u * 4);  // three GPUs in fp32, two in fp16, four passes each
}

TEST_F(DeepBenchStore, LayersOfAGpuWithoutRecordsComeFromTheOperatorModel) {
  auto samples =
      StoreGpuOpSamples(*store_, catalog_, LoadGpuTargets(kCatalog + "/targets.json").value());
  ASSERT_TRUE(samples.ok());
  auto model = GpuOpModel::Fit(*samples, GpuSpecs(catalog_));
  ASSERT_TRUE(model.ok());
  auto shared = std::make_shared<const GpuOpModel>(std::move(*model));
  TransformerConfig c;
  c.name = "small";
  c.layers = 2;
  c.hidden = 1024;
  c.heads = 16;
  c.seq_len = 512;
  c.vocab = 50272;
  c.global_batch = 8;
  auto spec = ModelFromTransformer(c);
  ASSERT_TRUE(spec.ok());
  auto roof = RooflineSource::Load(kCatalog + "/efficiency.json");
  ASSERT_TRUE(roof.ok());
  std::shared_ptr<const RooflineSource> r(std::move(*roof));
  StoreSourceOptions so;
  so.op_model = shared;
  auto store = RecordStore::Open("sqlite:" + dir_.Path("records.db"));
  ASSERT_TRUE(store.ok());
  StoreSource src(std::move(*store), c, LoadGpuTargets(kCatalog + "/targets.json").value(), r, so);
  const GpuType* a100 = catalog_.FindGpu("A100-80");
  ASSERT_NE(a100, nullptr);
  auto b = src.Explain(*spec, 1, *a100, 2, 1);
  ASSERT_TRUE(b.time.has_value()) << b.missing;
  EXPECT_STREQ(b.time->source, "op-model");
  // The forward time is the model's products plus the non-GEMM term.
  double fwd = 0;
  for (const auto& t : b.gemms) {
    EXPECT_EQ(t.predicted, 3) << t.name;
    fwd += t.fwd;
  }
  EXPECT_NEAR(b.time->fwd, fwd + b.non_gemm.fwd, 1e-12);
  // qkv at micro-batch 2: dense 1024 x 3072 x 1024 in float16 (the config's 2-byte elements),
  // as the model predicts it on the A100.
  ASSERT_EQ(c.dtype_bytes, 2);
  const GpuOp qkv = GpuOp::Gemm("float16", 1024, 3072, 1024);
  EXPECT_NEAR(b.gemms[0].fwd, shared->Predict(qkv, GpuSpecOf(*a100)), 1e-15);
  // Without the model, the A100 (no records) falls back.
  auto store2 = RecordStore::Open("sqlite:" + dir_.Path("records.db"));
  ASSERT_TRUE(store2.ok());
  StoreSource plain(std::move(*store2), c, LoadGpuTargets(kCatalog + "/targets.json").value(), r);
  EXPECT_FALSE(plain.Time(*spec, 1, *a100, 2, 1).has_value());
}

TEST_F(DeepBenchStore, LayersAreComparedWithTheProfilesOfEveryProfiledGpu) {
  const std::string data = std::string(OPAL_SHARED_DATA) + "/sailor";
  auto cfg = LoadTransformerConfig(data + "/configs/training_config_opt_350.json");
  ASSERT_TRUE(cfg.ok());
  auto spec = ModelFromTransformer(*cfg);
  ASSERT_TRUE(spec.ok());
  auto profiles = ProfileSource::Load(data + "/profiles/OPT-350", 26);
  ASSERT_TRUE(profiles.ok());
  auto samples =
      StoreGpuOpSamples(*store_, catalog_, LoadGpuTargets(kCatalog + "/targets.json").value());
  ASSERT_TRUE(samples.ok());
  auto model = GpuOpModel::Fit(*samples, GpuSpecs(catalog_));
  ASSERT_TRUE(model.ok());
  StoreSourceOptions so;
  so.op_model = std::make_shared<const GpuOpModel>(std::move(*model));
  auto roof = RooflineSource::Load(kCatalog + "/efficiency.json");
  ASSERT_TRUE(roof.ok());
  auto store = RecordStore::Open("sqlite:" + dir_.Path("records.db"));
  ASSERT_TRUE(store.ok());
  StoreSource src(std::move(*store), *cfg, LoadGpuTargets(kCatalog + "/targets.json").value(),
                  std::shared_ptr<const RooflineSource>(std::move(*roof)), so);
  Json j = CompareLayersWithProfiles(*spec, **profiles, src, catalog_);
  for (const auto& g : (*profiles)->Gpus()) {
    ASSERT_TRUE(j["gpus"].contains(g)) << g;
    EXPECT_GT(j["gpus"][g]["blocks"].get<int64_t>(), 0);
    EXPECT_GT(j["gpus"][g]["products_predicted"].get<int64_t>(), 0);
    EXPECT_TRUE(std::isfinite(j["gpus"][g]["mape"].get<double>()));
  }
  EXPECT_GT(j["blocks"].get<int64_t>(), 0);
}

}  // namespace
}  // namespace opal::plan
