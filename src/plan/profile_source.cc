// Measured per-layer profiles in Sailor's format.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "opal/log.h"
#include "opal/plan_perf.h"
#include "plan/json_read.h"

namespace opal::plan {
namespace {

bool ParseInt(const std::string& s, int* out) {
  if (s.empty() || s.size() > 9) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  *out = std::stoi(s);
  return true;
}

}  // namespace

Result<std::unique_ptr<ProfileSource>> ProfileSource::Load(const std::string& dir, int num_layers) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return Error(ErrorCode::kNotFound, "profile directory '{}' does not exist", dir);
  auto src = std::make_unique<ProfileSource>();
  std::vector<fs::path> gpu_dirs;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_directory() && fs::exists(e.path() / "profile.json")) gpu_dirs.push_back(e.path());
  std::sort(gpu_dirs.begin(), gpu_dirs.end());
  if (gpu_dirs.empty())
    return Error(
        ErrorCode::kNotFound,
        "'{}' has no <GPU>/profile.json; give the directory of one model, e.g. profiles/OPT-350",
        dir);
  for (const auto& gd : gpu_dirs) {
    std::string path = (gd / "profile.json").string(), gpu = gd.filename().string();
    OPAL_ASSIGN_OR_RETURN(Json j, ReadJsonFile(path, "profile"));
    if (!j.is_object())
      return Error(ErrorCode::kInvalidModel,
                   "{}: expected {{mbs: {{tp: {{layer: [fwd, bwd, update]}}}}}}", path);
    auto& per_tp = src->data_[gpu];
    bool mismatch = false;
    for (const auto& [mbs_s, by_tp] : j.items()) {
      int mbs = 0;
      if (!ParseInt(mbs_s, &mbs) || mbs <= 0 || !by_tp.is_object())
        return Error(ErrorCode::kInvalidModel, "{}: micro-batch key '{}' is not a positive integer",
                     path, mbs_s);
      for (const auto& [tp_s, layers] : by_tp.items()) {
        int tp = 0;
        if (!ParseInt(tp_s, &tp) || tp <= 0 || !layers.is_object())
          return Error(ErrorCode::kInvalidModel,
                       "{}: tensor-parallel key '{}' (mbs {}) is not a positive integer", path,
                       tp_s, mbs);
        std::vector<LayerTime> times(layers.size());
        for (const auto& [l_s, t] : layers.items()) {
          int l = 0;
          if (!ParseInt(l_s, &l) || l >= static_cast<int>(layers.size()))
            return Error(ErrorCode::kInvalidModel,
                         "{}: layer key '{}' (mbs {}, tp {}) is not in 0..{}", path, l_s, mbs, tp,
                         layers.size() - 1);
          if (!t.is_array() || t.size() < 3 || !t[0].is_number() || !t[1].is_number() ||
              !t[2].is_number() || t[0].get<double>() < 0 || t[1].get<double>() < 0 ||
              t[2].get<double>() < 0)
            return Error(ErrorCode::kInvalidModel,
                         "{}: layer {} (mbs {}, tp {}) is not [fwd, bwd, update] seconds >= 0",
                         path, l, mbs, tp);
          times[l] = {t[0].get<double>(), t[1].get<double>(), t[2].get<double>(), "profile"};
        }
        if (num_layers > 0 && static_cast<int>(times.size()) != num_layers) {
          if (!mismatch)
            log::Warn(
                "ignoring {}: it has {} layers but the model has {} (a profile of another model)",
                path, times.size(), num_layers);
          mismatch = true;
          continue;
        }
        per_tp[tp][mbs] = std::move(times);
      }
    }
    if (mismatch) {
      src->data_.erase(gpu);
      continue;
    }
    // A smaller micro-batch is never slower than a larger one: cap by the next measured size.
    for (auto& [tp, by_mbs] : per_tp) {
      std::vector<LayerTime>* larger = nullptr;
      for (auto it = by_mbs.rbegin(); it != by_mbs.rend(); ++it) {
        if (larger && larger->size() == it->second.size()) {
          for (size_t l = 0; l < it->second.size(); ++l) {
            it->second[l].fwd = std::min(it->second[l].fwd, (*larger)[l].fwd);
            it->second[l].bwd = std::min(it->second[l].bwd, (*larger)[l].bwd);
          }
        }
        larger = &it->second;
      }
    }
  }
  if (src->data_.empty())
    return Error(ErrorCode::kInvalidModel, "no profile under '{}' matches the model's {} layers",
                 dir, num_layers);
  return src;
}

std::vector<std::string> ProfileSource::Gpus() const {
  std::vector<std::string> v;
  for (const auto& [g, _] : data_) v.push_back(g);
  return v;
}

int ProfileSource::NumLayers(const std::string& gpu) const {
  auto it = data_.find(gpu);
  if (it == data_.end() || it->second.empty() || it->second.begin()->second.empty()) return 0;
  return static_cast<int>(it->second.begin()->second.begin()->second.size());
}

const std::map<int, std::vector<LayerTime>>* ProfileSource::Table(const std::string& gpu,
                                                                  int tp) const {
  auto it = data_.find(gpu);
  if (it == data_.end()) return nullptr;
  auto jt = it->second.find(tp);
  return jt == it->second.end() ? nullptr : &jt->second;
}

ProfileSource ProfileSource::Without(const std::string& gpu) const {
  ProfileSource copy = *this;
  copy.data_.erase(gpu);
  return copy;
}

std::optional<LayerTime> ProfileSource::Time(const ModelSpec& model, int layer, const GpuType& gpu,
                                             int mbs, int tp) const {
  const auto* by_mbs = Table(gpu.name, tp);
  if (!by_mbs || by_mbs->empty() ||
      static_cast<int>(model.layers.size()) != static_cast<int>(by_mbs->begin()->second.size()))
    return std::nullopt;
  return TimeAt(gpu.name, layer, mbs, tp);
}

std::optional<LayerTime> ProfileSource::TimeAt(const std::string& gpu, int layer, double mbs,
                                               int tp) const {
  const auto* by_mbs = Table(gpu, tp);
  if (!by_mbs || by_mbs->empty() || layer < 0 ||
      layer >= static_cast<int>(by_mbs->begin()->second.size()))
    return std::nullopt;
  auto hi = by_mbs->lower_bound(static_cast<int>(std::ceil(mbs)));
  if (hi == by_mbs->begin() || (hi != by_mbs->end() && hi->first == mbs))
    return hi->second[layer];  // measured, or below the smallest measured size
  auto lo = std::prev(hi);
  const LayerTime& a = lo->second[layer];
  if (hi == by_mbs->end()) {  // beyond the largest: linear in the micro-batch
    const double k = mbs / lo->first;
    return LayerTime{a.fwd * k, a.bwd * k, a.update, "profile"};
  }
  const LayerTime& b = hi->second[layer];
  const double w = (mbs - lo->first) / (hi->first - lo->first);
  return LayerTime{a.fwd + w * (b.fwd - a.fwd), a.bwd + w * (b.bwd - a.bwd), a.update, "profile"};
}

std::optional<double> ProfileSource::EquivalentBatch(const std::string& gpu, int layer, int tp,
                                                     bool bwd, double seconds) const {
  const auto* by_mbs = Table(gpu, tp);
  if (!by_mbs || by_mbs->empty() || layer < 0 ||
      layer >= static_cast<int>(by_mbs->begin()->second.size()))
    return std::nullopt;
  auto pass = [&](const std::vector<LayerTime>& v) { return bwd ? v[layer].bwd : v[layer].fwd; };
  auto it = by_mbs->begin();
  double lo_b = it->first, lo_t = pass(it->second);
  if (!(seconds > lo_t)) return std::nullopt;
  for (++it; it != by_mbs->end(); ++it) {  // times never fall with the size (capped at load)
    const double hi_t = pass(it->second);
    if (seconds <= hi_t) return lo_b + (it->first - lo_b) * (seconds - lo_t) / (hi_t - lo_t);
    lo_b = it->first, lo_t = hi_t;
  }
  return lo_b * seconds / lo_t;  // beyond the largest: linear in the micro-batch
}

}  // namespace opal::plan
