// GpuOpModel: the analytic time (analytic.h) corrected by what the same operator did on other
// GPUs, and the choice of how far to trust that (include/opal/gpu_op_model.h).
#include "opal/gpu_op_model.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "costmodel/gpu/analytic.h"

namespace opal {
namespace {

using costmodel::AnalyticTime;

// How unlike two GPUs are for `dtype`: |log ratio| of matrix-product peak, memory bandwidth, SMs
// and L2, plus 1 across architecture generations (compute capability major).
double GpuDistance(const GpuSpec& a, const GpuSpec& b, const std::string& dtype) {
  auto lr = [](double x, double y) { return x > 0 && y > 0 ? std::fabs(std::log(x / y)) : 1.0; };
  return lr(a.MatmulPeak(dtype), b.MatmulPeak(dtype)) + lr(a.mem_bw, b.mem_bw) + lr(a.sms, b.sms) +
         lr(a.l2_bytes, b.l2_bytes) +
         (a.compute_capability / 10 != b.compute_capability / 10 ? 1.0 : 0.0);
}

// What an operator did on another GPU: its log time over the analytic time there, and how unlike
// that GPU is to the one predicted.
struct Residual {
  double log_ratio = 0, distance = 0;
  double log_peak_ratio = 0;  // log time over the op's FLOP at the GPU's matrix-product peak
};

// log seconds of `op` at `g`'s matrix-product peak for its dtype.
double LogPeakTime(const GpuOp& op, const GpuSpec& g) {
  return std::log(op.Flops() / g.MatmulPeak(op.dtype));
}

std::vector<Residual> Residuals(const GpuOpModel::Params& th, const GpuOp& op, const GpuSpec& g,
                                const std::vector<std::pair<std::string, double>>& measured,
                                const std::map<std::string, GpuSpec>& gpus) {
  std::vector<Residual> v;
  for (const auto& [gpu, seconds] : measured) {
    if (gpu == g.name) continue;
    const GpuSpec& other = gpus.at(gpu);
    v.push_back({std::log(seconds / AnalyticTime(th, op, other)), GpuDistance(other, g, op.dtype),
                 std::log(seconds) - LogPeakTime(op, other)});
  }
  return v;
}

// log of the predicted time: the analytic log time plus `blend` x the residuals' weighted mean,
// each residual clamped to +-cap, weighted exp(-distance / scale) (equal weights for scale 0).
// With t.peak_ratio: the log time at the GPU's peak plus the weighted mean of the others' log
// times over theirs (the op's measured times scaled by the ratio of matrix-product peaks).
double Combine(double log_analytic, double log_peak, const std::vector<Residual>& res,
               const GpuOpModel::Transfer& t) {
  if (res.empty()) return log_analytic;
  double sum = 0, wsum = 0;
  for (const Residual& r : res) {
    const double w = t.distance_scale > 0 ? std::exp(-r.distance / t.distance_scale) : 1.0;
    sum += w * (t.peak_ratio ? r.log_peak_ratio : std::clamp(r.log_ratio, -t.cap, t.cap));
    wsum += w;
  }
  return t.peak_ratio ? log_peak + sum / wsum : log_analytic + t.blend * sum / wsum;
}

// The transfer settings tried: blend x cap x distance scale.
std::vector<GpuOpModel::Transfer> Candidates() {
  std::vector<GpuOpModel::Transfer> v;
  for (double blend : {0.0, 0.25, 0.5, 0.75, 1.0})
    for (double cap : {0.35, 0.7, 1.4, 20.0})
      for (double scale : {0.0, 0.5, 1.0, 2.0}) v.push_back({blend, cap, scale});
  for (double scale : {0.0, 0.5, 1.0, 2.0}) v.push_back({1.0, 20.0, scale, true});
  return v;
}

}  // namespace

const GpuOpModel::Params& GpuOpModel::ParamsFor(GpuOpPass pass) const {
  auto it = params_.find(pass);
  if (it != params_.end()) return it->second;
  it = params_.find(GpuOpPass::kGemm);
  return it != params_.end() ? it->second : costmodel::kStartParams;
}

GpuOpModel::Transfer GpuOpModel::TransferFor(GpuOpPass pass, int dtype_bytes) const {
  auto it = transfer_.find({pass, dtype_bytes});
  return it != transfer_.end() ? it->second : Transfer{};
}

double GpuOpModel::Analytic(const GpuOp& op, const GpuSpec& gpu) const {
  return AnalyticTime(ParamsFor(op.pass), op, gpu);
}

double GpuOpModel::Predict(const GpuOp& op, const GpuSpec& gpu) const {
  const Params& th = ParamsFor(op.pass);
  const double analytic = std::log(AnalyticTime(th, op, gpu));
  auto it = measured_.find(op.Key());
  if (it == measured_.end()) return std::exp(analytic);
  return std::exp(Combine(analytic, LogPeakTime(op, gpu), Residuals(th, op, gpu, it->second, gpus_),
                          TransferFor(op.pass, op.DtypeBytes())));
}

Result<GpuOpModel> GpuOpModel::Fit(const std::vector<GpuOpSample>& samples,
                                   const std::map<std::string, GpuSpec>& gpus) {
  if (samples.empty())
    return Error(ErrorCode::kInvalidArgument, "GPU operator model: no samples to fit");
  GpuOpModel model;
  std::vector<const GpuOpSample*> rows;
  std::set<std::string> names;
  for (const auto& s : samples) {
    if (!gpus.count(s.gpu))
      return Error(ErrorCode::kInvalidArgument,
                   "GPU operator model: GPU '{}' of a sample has no description", s.gpu);
    if (!(s.seconds > 0) || s.op.Flops() <= 0)
      return Error(ErrorCode::kInvalidArgument, "GPU operator model: sample {} on {} is empty",
                   s.op.Key(), s.gpu);
    rows.push_back(&s);
    names.insert(s.gpu);
    model.measured_[s.op.Key()].emplace_back(s.gpu, s.seconds);
    ++model.rows_per_gpu_[s.gpu];
  }
  for (const auto& n : names) model.gpus_[n] = gpus.at(n);
  model.params_ = costmodel::FitParams(rows, gpus);

  // Transfer settings per pass and element size: each training GPU predicted with parameters
  // fitted on the others and the others' measurements; the setting with the smallest MAPE over
  // them wins. (An op of one precision on one GPU says little about another precision: fp16 may
  // run on tensor cores on one GPU and fall back to slow kernels on the next.)
  using Key = std::pair<GpuOpPass, int>;
  const std::vector<Transfer> cands = Candidates();
  std::map<Key, std::vector<double>> err;
  std::map<Key, bool> several_sources;
  if (names.size() >= 2) {
    for (const auto& held : names) {
      std::vector<const GpuOpSample*> rest;
      for (const GpuOpSample* s : rows)
        if (s->gpu != held) rest.push_back(s);
      const auto inner = costmodel::FitParams(rest, gpus);
      for (const GpuOpSample* s : rows) {
        if (s->gpu != held) continue;
        auto p = inner.find(s->op.pass);
        if (p == inner.end()) continue;
        const GpuSpec& g = gpus.at(held);
        const auto res = Residuals(p->second, s->op, g, model.measured_.at(s->op.Key()), gpus);
        if (res.empty()) continue;
        const Key key{s->op.pass, s->op.DtypeBytes()};
        several_sources[key] = several_sources[key] || res.size() > 1;
        const double analytic = std::log(AnalyticTime(p->second, s->op, g));
        auto& e = err[key];
        e.resize(cands.size());
        for (size_t i = 0; i < cands.size(); ++i)
          e[i] += std::fabs(std::exp(Combine(analytic, LogPeakTime(s->op, g), res, cands[i])) -
                            s->seconds) /
                  s->seconds;
      }
    }
  }
  for (const auto& [key, e] : err) {
    // With one other GPU per prediction the distance scale changes nothing: keep the default.
    size_t best = cands.size();
    for (size_t i = 0; i < cands.size(); ++i) {
      if (!several_sources[key] && cands[i].distance_scale != Transfer{}.distance_scale) continue;
      if (best == cands.size() || e[i] < e[best]) best = i;
    }
    model.transfer_[key] = cands[best];
  }
  return model;
}

Result<GpuOpModel> GpuOpModel::FromJson(const Json& j) {
  if (!j.is_object() || !j.contains("passes") || !j["passes"].is_object())
    return Error(ErrorCode::kInvalidArgument, "GPU operator model JSON: no \"passes\" object");
  GpuOpModel m;
  for (const auto& [name, p] : j["passes"].items()) {
    int pass = 0;
    while (pass < kGpuOpPasses && name != GpuOpPassName(static_cast<GpuOpPass>(pass))) ++pass;
    if (pass == kGpuOpPasses)
      return Error(ErrorCode::kInvalidArgument, "GPU operator model JSON: unknown pass '{}'", name);
    Params th;
    for (int i = 0; i < kParams; ++i) {
      const char* key = costmodel::kParamNames[i];
      if (!p.contains("params") || !p["params"].contains(key) || !p["params"][key].is_number())
        return Error(ErrorCode::kInvalidArgument, "GPU operator model JSON: {} lacks {}", name,
                     key);
      th[i] = p["params"][key].get<double>();
    }
    const auto ps = static_cast<GpuOpPass>(pass);
    m.params_[ps] = th;
    if (p.contains("transfer") && p["transfer"].is_object()) {
      for (const auto& [dtype, t] : p["transfer"].items()) {
        if (!t.is_object()) continue;
        m.transfer_[{ps, dtype == "float32" ? 4 : 2}] = {t.value("blend", 0.5), t.value("cap", 0.7),
                                                         t.value("distance_scale", 1.0),
                                                         t.value("peak_ratio", false)};
      }
    }
  }
  return m;
}

Json GpuOpModel::ToJson() const {
  Json j{{"passes", Json::object()}, {"rows_per_gpu", rows_per_gpu_}};
  for (const auto& [pass, th] : params_) {
    Json p = Json::object();
    for (int i = 0; i < kParams; ++i) p[costmodel::kParamNames[i]] = th[i];
    Json tr = Json::object();
    for (const auto& [dtype, bytes] : {std::pair<const char*, int>{"float32", 4}, {"float16", 2}}) {
      const Transfer t = TransferFor(pass, bytes);
      tr[dtype] = {{"blend", t.blend},
                   {"cap", t.cap},
                   {"distance_scale", t.distance_scale},
                   {"peak_ratio", t.peak_ratio}};
    }
    j["passes"][GpuOpPassName(pass)] = {{"params", p}, {"transfer", tr}};
  }
  return j;
}

Result<std::vector<GpuOpError>> LeaveOneGpuOut(const std::vector<GpuOpSample>& samples,
                                               const std::map<std::string, GpuSpec>& gpus) {
  std::set<std::string> names;
  for (const auto& s : samples) names.insert(s.gpu);
  if (names.size() < 2)
    return Error(ErrorCode::kInvalidArgument,
                 "leave-one-GPU-out needs samples of at least 2 GPUs, got {}", names.size());
  std::vector<GpuOpError> out;
  for (const auto& held : names) {
    std::vector<GpuOpSample> train;
    for (const auto& s : samples)
      if (s.gpu != held) train.push_back(s);
    OPAL_ASSIGN_OR_RETURN(GpuOpModel model, GpuOpModel::Fit(train, gpus));
    std::map<std::pair<std::string, GpuOpPass>, std::pair<double, int64_t>> acc;
    for (const auto& s : samples) {
      if (s.gpu != held) continue;
      const double pred = model.Predict(s.op, gpus.at(held));
      auto& a = acc[{s.op.dtype, s.op.pass}];
      a.first += std::fabs(pred - s.seconds) / s.seconds;
      ++a.second;
    }
    for (const auto& [key, a] : acc)
      out.push_back({held, key.first, key.second, a.second, 100.0 * a.first / a.second});
  }
  return out;
}

}  // namespace opal
