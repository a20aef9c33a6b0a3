// Where per-layer times come from. A PerfSource answers "how long do the forward, backward and
// optimizer update of layer i take on one GPU of type g, for a per-replica micro-batch of m
// samples and tensor-parallel degree t" — or says it does not know. Sources are tried in order
// (measured profile, then profiles carried over from another model, then tuning records in the
// store, then the cost model, then the roofline model, which always answers) and every time
// carries the name of the source it came from.
// Sources are immutable after construction (caches aside) and safe to share between threads.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "opal/cost_model.h"
#include "opal/gpu_op_model.h"
#include "opal/plan_catalog.h"
#include "opal/plan_model.h"
#include "opal/record_store.h"
#include "opal/status.h"
#include "opal/target.h"

namespace opal::plan {

struct LayerTime {
  double fwd = 0, bwd = 0, update = 0;  // seconds; tensor-parallel collectives included
  const char* source = "";              // "profile", "store", "cost-model", "roofline"
};

class PerfSource {
 public:
  virtual ~PerfSource() = default;
  // nullopt when this source has no figure for the question.
  virtual std::optional<LayerTime> Time(const ModelSpec& model, int layer, const GpuType& gpu,
                                        int mbs, int tp) const = 0;
  virtual std::string Name() const = 0;
};

// Measured per-layer profiles in Sailor's format: profile.json maps micro-batch size -> tensor
// parallel degree -> layer index -> [fwd, bwd, update] seconds, one file per GPU type.
// Between measured micro-batch sizes times are interpolated linearly, beyond them scaled
// linearly from the largest; a time is never larger than the one measured at a bigger
// micro-batch (small-batch measurements are noisy upwards). Tensor-parallel degrees not
// measured are unknown. The update figure, the same on every layer of a file, is each layer's
// share of the model's optimizer step (summed over a stage's layers it gives the stage's step).
class ProfileSource : public PerfSource {
 public:
  // Reads `dir/<GPU>/profile.json` for every GPU directory under `dir` (e.g.
  // .../profiles/OPT-350). `num_layers` > 0 rejects profiles with another layer count
  // (skipped with a warning: a profile of another model). kNotFound when `dir` has no profile.
  static Result<std::unique_ptr<ProfileSource>> Load(const std::string& dir, int num_layers);
  std::optional<LayerTime> Time(const ModelSpec& model, int layer, const GpuType& gpu, int mbs,
                                int tp) const override;
  std::string Name() const override { return "profile"; }
  std::vector<std::string> Gpus() const;
  int NumLayers(const std::string& gpu) const;  // 0 when absent
  // Layer times straight from the file (no interpolation); empty when absent.
  const std::map<int, std::vector<LayerTime>>* Table(const std::string& gpu, int tp) const;
  // `layer`'s time at a fractional micro-batch, interpolated as Time does: linear between
  // measured sizes, the smallest size's time below it, proportional beyond the largest. nullopt
  // when the GPU or tp degree has no profile or the layer is out of range.
  std::optional<LayerTime> TimeAt(const std::string& gpu, int layer, double mbs, int tp) const;
  // The inverse for one pass (`bwd` false: forward): the fractional micro-batch at which TimeAt
  // gives `seconds`. nullopt when absent or when `seconds` is not above the time at the smallest
  // measured size (the curve is flat there: no size answers).
  std::optional<double> EquivalentBatch(const std::string& gpu, int layer, int tp, bool bwd,
                                        double seconds) const;
  // A copy without `gpu`'s profile (to hold one GPU type out of a check).
  ProfileSource Without(const std::string& gpu) const;

 private:
  // gpu -> tp -> mbs -> per-layer times
  std::map<std::string, std::map<int, std::map<int, std::vector<LayerTime>>>> data_;
};

// Efficiency factors of the roofline model for one GPU type (or the default for all).
struct Efficiency {
  double matmul = 0.5;    // fraction of the matrix-product peak reached (GpuType::MatmulPeak)
  double memory = 0.6;    // fraction of memory bandwidth reached by the other operators
  double update = 0.1;    // fraction of memory bandwidth reached by the optimizer step
  double overhead = 0;    // seconds of fixed cost per layer and pass (kernel launches)
  std::string fitted_on;  // what these were calibrated on ("" = defaults)
};

// time = max(FLOP / (peak * eff.matmul), bytes / (bw * eff.memory)) + overhead per pass;
// backward = 2x forward; tensor parallelism divides work by t and adds 2 ring all-reduces of the
// layer output per pass over the intra-node link. Always answers.
class RooflineSource : public PerfSource {
 public:
  explicit RooflineSource(std::map<std::string, Efficiency> per_gpu = {}, Efficiency dflt = {})
      : per_gpu_(std::move(per_gpu)), default_(std::move(dflt)) {}
  // Reads data/catalog/efficiency.json ({"default": {...}, "gpus": {"V100-16": {...}}}).
  static Result<std::unique_ptr<RooflineSource>> Load(const std::string& path);
  std::optional<LayerTime> Time(const ModelSpec& model, int layer, const GpuType& gpu, int mbs,
                                int tp) const override;
  std::string Name() const override { return "roofline"; }
  const Efficiency& For(const std::string& gpu) const;

 private:
  std::map<std::string, Efficiency> per_gpu_;
  Efficiency default_;
};

// The tuning target (include/opal/target.h) of each catalog GPU type, whose records in the store
// are that GPU's measurements: data/catalog/targets.json, {"targets": {"A100-80": "cuda
// arch=sm_80 cores=108 mem=80G model='NVIDIA A100-SXM4-80GB'", ...}}. A GPU type without an
// entry has no store records. kNotFound for a missing file, kInvalidModel for a bad entry.
Result<std::map<std::string, Target>> LoadGpuTargets(const std::string& path);

// Per-operator tuning records (RecordStore) summed into layer times, for transformer layers built
// by ModelFromTransformer(shape). The matrix products of a layer (src/plan/layer_gemms.h: QKV,
// attention-out, FFN up/down as `dense`, attention scores/context as `batch_matmul`, the LM
// projection of the head; m = micro-batch * sequence, sharded by tp as Megatron) are looked up on
// the GPU type's target (TopK k = 1: the fastest valid record of any framework; dtype float16,
// else bfloat16, for 2-byte models, float32 for 4-byte ones):
//   fwd    = sum of the forward products' medians + non-GEMM term (fwd)
//   bwd    = sum over products of (dgrad + wgrad medians when both are stored, else 2 x the
//            forward median) + non-GEMM term (bwd)
//   update = the roofline's optimizer step
// The non-GEMM term is the roofline's time of the same layer with its matrix products removed:
// the other operators' memory traffic, tensor-parallel all-reduces and per-pass overhead.
// nullopt when a forward product of the layer has no record (the chain then falls back) unless an
// operator model is given (below), for layers without products (embedding), for GPU types
// without a target (without a model) and for models other than `shape`'s. With an operator
// model, a product without a record is the model's prediction, its dgrad and wgrad too when they
// lack records. The store is only read, under a lock, and each lookup is cached.
struct StoreSourceOptions {
  // Fill missing records from other devices of the same coarse key (e.g. A100-40 from A100-80
  // records, both cuda-sm_80). Off: a record counts only for the exact target it was measured on.
  bool coarse_fallback = false;
  // Products without a record are timed by this GPU operator model (opal/gpu_op_model.h; fitted
  // on the store's records of other GPU types, it predicts GPU types with none), forward and
  // backward alike; the layer's source is then "op-model". Null: such layers fall back.
  std::shared_ptr<const GpuOpModel> op_model;
};
class StoreSource : public PerfSource {
 public:
  StoreSource(std::unique_ptr<RecordStore> store, TransformerConfig shape,
              std::map<std::string, Target> targets, std::shared_ptr<const RooflineSource> roofline,
              StoreSourceOptions options = {});
  std::optional<LayerTime> Time(const ModelSpec& model, int layer, const GpuType& gpu, int mbs,
                                int tp) const override;
  std::string Name() const override { return "store"; }

  // Where a layer time comes from, product by product.
  struct Term {
    std::string name;           // "qkv", ...
    std::string workload_key;   // of the forward product's record (first dtype if none)
    std::string target_key;     // target of the record used ("" when missing)
    double fwd = 0, bwd = 0;    // seconds
    bool bwd_measured = false;  // dgrad + wgrad records (else 2 x fwd, or the operator model)
    int predicted = 0;          // of fwd, dgrad, wgrad: how many the operator model timed
  };
  struct Breakdown {
    std::vector<Term> gemms;
    LayerTime non_gemm;  // the roofline of the layer without its products (update included)
    std::optional<LayerTime> time;
    std::string missing;  // why `time` is empty, e.g. "no record for qkv (dense-...) on ..."
  };
  Breakdown Explain(const ModelSpec& model, int layer, const GpuType& gpu, int mbs, int tp) const;

 private:
  struct Best {
    double median = 0;
    std::string workload_key, target_key;  // of the record used
  };
  // The fastest valid record of `workload` (dtype chosen in order) on `target`; cached.
  std::optional<Best> Lookup(const Json& workload, const std::vector<std::string>& dtypes,
                             const Target& target) const;
  // The operator model's time of `workload` (first dtype) on `gpu`; nullopt without a model.
  std::optional<double> Predict(const Json& workload, const std::string& dtype,
                                const GpuType& gpu) const;

  mutable std::mutex mu_;
  std::unique_ptr<RecordStore> store_;
  TransformerConfig shape_;
  std::map<std::string, Target> targets_;
  std::shared_ptr<const RooflineSource> roofline_;
  StoreSourceOptions options_;
  mutable std::map<std::string, std::optional<Best>> cache_;       // by workload@target
  mutable std::map<std::string, std::optional<LayerTime>> times_;  // by layer/gpu/mbs/tp
};

// The cost model (include/opal/cost_model.h) as a source. Its scores are relative: it is trained
// on GFLOP/s divided by the best GFLOP/s of the same workload and target (regression) or on pair
// orderings (ranking), so it ranks configs of one workload but gives no seconds. This source
// therefore answers nullopt for every layer; Why() says, per GPU type, whether the model was
// trained on that GPU's target at all and that it cannot give absolute times. It is in the chain
// so that a model that gains absolute predictions slots in at its place (after the store).
class CostModelSource : public PerfSource {
 public:
  CostModelSource(CostModelInfo info, std::map<std::string, Target> targets)
      : info_(std::move(info)), targets_(std::move(targets)) {}
  std::optional<LayerTime> Time(const ModelSpec& model, int layer, const GpuType& gpu, int mbs,
                                int tp) const override;
  std::string Name() const override { return "cost-model"; }
  // True when the model's metadata lists the GPU type's target.
  bool Covers(const GpuType& gpu) const;
  // One line: why this source has no time for `gpu`.
  std::string Why(const GpuType& gpu) const;

 private:
  CostModelInfo info_;
  std::map<std::string, Target> targets_;
};

// Measured profiles carried over from another model: for a GPU g that has no profile of the
// model X planned but has one of a reference model Y, each layer l of X is timed on g's measured
// curve of the Y layer l' of the same kind (embedding, transformer block at the same relative
// depth, head), per pass, at an equivalent micro-batch: on the GPU h with both profiles at that
// micro-batch and tp that is closest to g in matrix-product peak and memory bandwidth, X's layer
// takes as long as Y's at micro-batch b_h (EquivalentBatch); on g it takes t_Y(g, l', b_h x d),
// where the drift d = w(g) / w(h) and w is X's over Y's layer work at the GPU's peaks (matrix FLOP
// / peak + other bytes / bandwidth). Where X's time on h is not above Y's at Y's smallest
// measured size, t_Y(g, l') x t_X(h, l) / t_Y(h, l') x d. nullopt when g has its own profile of X
// (ProfileSource answers), when g has no profile of Y, or when no GPU has both.
class ProfileTransferSource : public PerfSource {
 public:
  // `gpus`: the catalog's GPU types (the choice of h); `reference_model` is Y's model.
  ProfileTransferSource(std::shared_ptr<const ProfileSource> target,
                        std::shared_ptr<const ProfileSource> reference, ModelSpec reference_model,
                        std::vector<GpuType> gpus)
      : target_(std::move(target)),
        reference_(std::move(reference)),
        reference_model_(std::move(reference_model)),
        gpus_(std::move(gpus)) {}
  std::optional<LayerTime> Time(const ModelSpec& model, int layer, const GpuType& gpu, int mbs,
                                int tp) const override;
  std::string Name() const override { return "profile-transfer"; }

 private:
  std::shared_ptr<const ProfileSource> target_, reference_;
  ModelSpec reference_model_;
  std::vector<GpuType> gpus_;
};

// Tries sources in order; the first answer wins.
class ChainSource : public PerfSource {
 public:
  void Add(std::shared_ptr<const PerfSource> s) { sources_.push_back(std::move(s)); }
  std::optional<LayerTime> Time(const ModelSpec& model, int layer, const GpuType& gpu, int mbs,
                                int tp) const override;
  std::string Name() const override;

 private:
  std::vector<std::shared_ptr<const PerfSource>> sources_;
};

// Fits roofline efficiencies. Each sample is one measured time of known work on a GPU.
struct CalibrationSample {
  double flops = 0, bytes = 0;  // work of the timed operation
  double measured = 0;          // seconds
};
struct CalibrationResult {
  Efficiency eff;
  double mape = 0;  // mean absolute percentage error of the fitted model on the samples
  int samples = 0;
};
// Least squares on log time over a grid of (matmul, memory, overhead); `peak_flops`, `bw` of
// the GPU. Precondition: samples non-empty.
CalibrationResult FitEfficiency(const std::vector<CalibrationSample>& samples, double peak_flops,
                                double bw);

// Calibration data readers: DeepBench GEMM CSV (gpu,precision,M,N,K,...,time_ms) grouped by
// "gpu/precision"; Sailor profile layers of a transformer (forward passes, all mbs and tp=1).
Result<std::map<std::string, std::vector<CalibrationSample>>> ReadDeepBenchGemm(
    const std::string& csv_path);
// Samples from a profile: forward and backward of every transformer block at tp = 1, all
// micro-batch sizes.
std::vector<CalibrationSample> ProfileSamples(const ModelSpec& model, const ProfileSource& profile,
                                              const std::string& gpu);
// MAPE of the roofline with `eff` on `samples`.
double RooflineMape(const std::vector<CalibrationSample>& samples, const Efficiency& eff,
                    double peak_flops, double bw);

// Calibrates the roofline for every GPU with data: profile layers (all factors; the update
// factor from the optimizer times) and DeepBench GEMMs (matrix-product factor for GPUs without
// profiles; fp16 rows against tensor peak, fp32 rows against fp32 peak). When a GPU has
// profiles of several models, the fit on the first is also scored on the others
// ("transfer_mape"). The result is the content of data/catalog/efficiency.json with every
// fit's MAPE; "default" is the median of the profile fits. kNotFound for missing inputs.
struct CalibrationInput {
  std::string deepbench_gemm_csv;  // "" to skip
  std::vector<std::pair<const ModelSpec*, const ProfileSource*>> profiles;
};
Result<Json> Calibrate(const Catalog& catalog, const CalibrationInput& input);

}  // namespace opal::plan
