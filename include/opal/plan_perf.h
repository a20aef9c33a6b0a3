// Where per-layer times come from. A PerfSource answers "how long do the forward, backward and
// optimizer update of layer i take on one GPU of type g, for a per-replica micro-batch of m
// samples and tensor-parallel degree t" — or says it does not know. Sources are tried in order
// (measured profile, then store records and the cost model when those layers exist, then the
// roofline model, which always answers) and every time carries the name of the source it came
// from. Sources are immutable after construction and safe to share between threads.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "opal/plan_catalog.h"
#include "opal/plan_model.h"
#include "opal/status.h"

namespace opal::plan {

struct LayerTime {
  double fwd = 0, bwd = 0, update = 0;  // seconds; tensor-parallel collectives included
  const char* source = "";              // "profile", "roofline", ...
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
// measured are unknown.
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

 private:
  // gpu -> tp -> mbs -> per-layer times
  std::map<std::string, std::map<int, std::map<int, std::vector<LayerTime>>>> data_;
};

// Efficiency factors of the roofline model for one GPU type (or the default for all).
struct Efficiency {
  double matmul = 0.5;    // fraction of tensor peak reached by matrix products
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
