#include "opal/resize_geometry.h"

#include <algorithm>
#include <cmath>

namespace opal {
namespace {

// The input coordinate of output index x on one axis (the ONNX spec's coordinate transformation).
double Original(const ResizeMode& m, double x, double s, int64_t in, int64_t out, double rs, double re) {
  const std::string& t = m.transform;
  if (t == "half_pixel") return (x + 0.5) / s - 0.5;
  if (t == "half_pixel_symmetric") {
    const double adjustment = static_cast<double>(out) / (s * static_cast<double>(in));
    const double offset = static_cast<double>(in) / 2 * (1 - adjustment);
    return offset + (x + 0.5) / s - 0.5;
  }
  if (t == "pytorch_half_pixel") return out > 1 ? (x + 0.5) / s - 0.5 : 0.0;
  // The resized length here is scale x input, not rounded (the spec's reference: a 0.6 scale of
  // a 4-long axis spans 3 / (2.4 - 1), though 2 outputs are made).
  if (t == "align_corners") return out == 1 ? 0.0 : x * static_cast<double>(in - 1) / (s * static_cast<double>(in) - 1);
  if (t == "asymmetric") return x / s;
  if (t == "tf_half_pixel_for_nn") return (x + 0.5) / s;
  // tf_crop_and_resize: the roi [rs, re] of the axis, in normalised coordinates.
  const double span = static_cast<double>(in - 1);
  return out > 1 ? rs * span + x * (re - rs) * span / static_cast<double>(out - 1) : 0.5 * (rs + re) * span;
}

int64_t Nearest(const ResizeMode& m, double x, double scale) {
  if (m.nearest == "round_prefer_ceil") return static_cast<int64_t>(std::floor(x + 0.5));
  if (m.nearest == "floor") return static_cast<int64_t>(std::floor(x));
  if (m.nearest == "ceil") return static_cast<int64_t>(std::ceil(x));
  if (m.nearest == "simple") return static_cast<int64_t>(scale < 1 ? std::ceil(x) : std::floor(x));
  return static_cast<int64_t>(std::ceil(x - 0.5));  // round_prefer_floor: ties go down
}

// Keys's cubic convolution weights of the taps at floor(x) - 1 .. floor(x) + 2, t = x - floor(x).
std::vector<double> CubicWeights(double t, double a) {
  auto near = [a](double d) { return ((a + 2) * d - (a + 3)) * d * d + 1; };       // |d| <= 1
  auto far = [a](double d) { return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a; };  // 1 < |d| < 2
  return {far(t + 1), near(t), near(1 - t), far(2 - t)};
}

bool Known(const std::string& v, std::initializer_list<const char*> set) {
  return std::any_of(set.begin(), set.end(), [&](const char* s) { return v == s; });
}

std::vector<double> Doubles(const Tensor* t) {
  std::vector<double> v;
  for (int64_t k = 0; t && k < t->size(); ++k) v.push_back(t->GetDouble(k));
  return v;
}

}  // namespace

ResizeInputs ResizeInputsOf(const std::string& op_type, int opset) {
  if (op_type == "Upsample") return opset < 9 ? ResizeInputs{} : ResizeInputs{-1, 1, -1};
  return opset < 11 ? ResizeInputs{-1, 1, -1} : ResizeInputs{1, 2, 3};
}

Result<ResizeGeometry> ResolveResize(const std::string& op_type, int opset, const Attributes& attrs,
                                     const Shape& in, const Tensor* roi_t, const Tensor* scales_t,
                                     const Tensor* sizes_t) {
  ResizeGeometry g;
  ResizeMode& m = g.mode;
  m.mode = attrs.GetString("mode", "nearest");
  if (m.mode == "bilinear") m.mode = "linear";  // Upsample's old name
  const bool legacy = op_type == "Upsample" || opset < 11;
  if (legacy) {
    m.transform = "asymmetric";
    m.nearest = "simple";
  } else {
    m.transform = attrs.GetString("coordinate_transformation_mode", "half_pixel");
    m.nearest = attrs.GetString("nearest_mode", "round_prefer_floor");
    m.cubic_a = attrs.GetFloat("cubic_coeff_a", -0.75);
    m.exclude_outside = attrs.GetInt("exclude_outside", 0) != 0;
    m.extrapolation = attrs.GetFloat("extrapolation_value", 0.0);
  }
  if (!Known(m.mode, {"nearest", "linear", "cubic"}) || (legacy && m.mode == "cubic"))
    return Error(ErrorCode::kUnsupported, "mode '{}' is not supported", m.mode);
  if (!Known(m.transform, {"half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners",
                           "asymmetric", "tf_half_pixel_for_nn", "tf_crop_and_resize"}))
    return Error(ErrorCode::kUnsupported, "coordinate_transformation_mode '{}' is not supported", m.transform);
  if (!Known(m.nearest, {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil", "simple"}))
    return Error(ErrorCode::kUnsupported, "nearest_mode '{}' is not supported", m.nearest);
  if (attrs.GetInt("antialias", 0) != 0) return Error(ErrorCode::kUnsupported, "antialias is not supported");

  const int64_t rank = static_cast<int64_t>(in.size());
  std::vector<size_t> axes;  // opset 18's `axes`; every axis otherwise
  for (int64_t a : attrs.GetInts("axes", {})) {
    const int64_t ax = a < 0 ? a + rank : a;
    if (ax < 0 || ax >= rank) return Error(ErrorCode::kInvalidModel, "axis {} is out of range for rank {}", a, rank);
    axes.push_back(static_cast<size_t>(ax));
  }
  if (axes.empty())
    for (int64_t d = 0; d < rank; ++d) axes.push_back(static_cast<size_t>(d));
  const size_t na = axes.size();
  const std::vector<double> scales = op_type == "Upsample" && opset < 9 ? attrs.GetFloats("scales", {}) : Doubles(scales_t);
  const std::vector<double> sizes = Doubles(sizes_t), roi = Doubles(roi_t);
  g.scale.assign(in.size(), 1.0);
  g.roi_start.assign(in.size(), 0.0);
  g.roi_end.assign(in.size(), 1.0);
  g.out = in;
  if (m.transform == "tf_crop_and_resize") {
    if (roi.size() != 2 * na) return Error(ErrorCode::kInvalidModel, "roi has {} values, not {}", roi.size(), 2 * na);
    for (size_t k = 0; k < na; ++k) g.roi_start[axes[k]] = roi[k], g.roi_end[axes[k]] = roi[k + na];
  }
  if (!scales.empty() && !sizes.empty()) return Error(ErrorCode::kInvalidModel, "both scales and sizes are given");
  if (!scales.empty()) {
    if (scales.size() != na) return Error(ErrorCode::kInvalidModel, "{} scales for {} axes", scales.size(), na);
    for (size_t k = 0; k < na; ++k) {
      const size_t a = axes[k];
      if (!(scales[k] > 0) || !std::isfinite(scales[k]))
        return Error(ErrorCode::kInvalidModel, "scale {} is not a positive number", scales[k]);
      const double len = std::floor(static_cast<double>(in[a]) * (g.roi_end[a] - g.roi_start[a]) * scales[k]);
      if (!(len >= 0) || len > 1e12) return Error(ErrorCode::kInvalidModel, "axis {} would have length {}", a, len);
      g.scale[a] = scales[k];
      g.out[a] = static_cast<int64_t>(len);
    }
  } else if (!sizes.empty()) {
    if (sizes.size() != na) return Error(ErrorCode::kInvalidModel, "{} sizes for {} axes", sizes.size(), na);
    const std::string policy = attrs.GetString("keep_aspect_ratio_policy", "stretch");
    if (!Known(policy, {"stretch", "not_larger", "not_smaller"}))
      return Error(ErrorCode::kInvalidModel, "keep_aspect_ratio_policy '{}' (stretch, not_larger or not_smaller)", policy);
    double shared = policy == "not_smaller" ? 0.0 : HUGE_VAL;
    for (size_t k = 0; k < na; ++k) {
      const size_t a = axes[k];
      if (!(sizes[k] >= 1) || sizes[k] > 1e12 || sizes[k] != std::floor(sizes[k]) || in[a] < 1)
        return Error(ErrorCode::kInvalidModel, "size {} of axis {} (input length {}) is not a positive whole number", sizes[k], a, in[a]);
      g.scale[a] = sizes[k] / static_cast<double>(in[a]);
      g.out[a] = static_cast<int64_t>(sizes[k]);
      shared = policy == "not_smaller" ? std::max(shared, g.scale[a]) : std::min(shared, g.scale[a]);
    }
    if (policy != "stretch")
      for (size_t a : axes) {
        g.scale[a] = shared;
        g.out[a] = static_cast<int64_t>(std::round(shared * static_cast<double>(in[a])));
      }
  } else {
    return Error(ErrorCode::kInvalidModel, "neither scales nor sizes are given");
  }
  return g;
}

Result<ResizeGeometry> ResolveResizeNode(const Node& n, int opset, const Shape& in,
                                         const std::function<const Tensor*(size_t)>& constant) {
  const ResizeInputs at = ResizeInputsOf(n.op_type, opset);
  const Tensor* v[3] = {nullptr, nullptr, nullptr};
  const int index[3] = {at.roi, at.scales, at.sizes};
  const char* what[3] = {"roi", "scales", "sizes"};
  for (int k = 0; k < 3; ++k) {
    if (index[k] < 0) continue;
    const size_t i = static_cast<size_t>(index[k]);
    if (i >= n.inputs.size() || n.inputs[i] == kNoValue) continue;
    v[k] = constant(i);
    if (!v[k]) return Error(ErrorCode::kUnsupported, "{} must be a constant of the graph", what[k]);
    if (v[k]->size() == 0) v[k] = nullptr;  // an empty tensor stands for an absent input
  }
  return ResolveResize(n.op_type, opset, n.attrs, in, v[0], v[1], v[2]);
}

ResizeAxisTaps ResizeAxis(const ResizeGeometry& g, size_t axis, int64_t in) {
  const ResizeMode& m = g.mode;
  const int64_t out = g.out.at(axis);
  const double scale = g.scale.at(axis);
  ResizeAxisTaps a;
  a.taps = m.mode == "nearest" ? 1 : m.mode == "linear" ? 2 : 4;
  a.idx.resize(static_cast<size_t>(out * a.taps));
  a.weight.resize(a.idx.size());
  a.inside.assign(static_cast<size_t>(out), 1);
  const bool crop = m.transform == "tf_crop_and_resize";
  for (int64_t i = 0; i < out; ++i) {
    const double x = Original(m, static_cast<double>(i), scale, in, out, g.roi_start[axis], g.roi_end[axis]);
    if (crop && (x < 0 || x > static_cast<double>(in - 1))) a.inside[static_cast<size_t>(i)] = 0;
    const double x0 = std::floor(x), t = x - x0;
    std::vector<int64_t> at;
    std::vector<double> w;
    if (a.taps == 1) {
      at = {Nearest(m, x, scale)};
      w = {1};
    } else if (a.taps == 2) {
      at = {static_cast<int64_t>(x0), static_cast<int64_t>(x0) + 1};
      w = {1 - t, t};
    } else {
      const auto base = static_cast<int64_t>(x0);
      at = {base - 1, base, base + 1, base + 2};
      w = CubicWeights(t, m.cubic_a);
      if (m.exclude_outside) {
        double sum = 0;
        for (size_t k = 0; k < 4; ++k) {
          if (at[k] < 0 || at[k] >= in) w[k] = 0;
          sum += w[k];
        }
        for (double& v : w) v = sum != 0 ? v / sum : 0;
      }
    }
    for (int k = 0; k < a.taps; ++k) {
      const size_t j = static_cast<size_t>(i * a.taps + k);
      a.idx[j] = static_cast<int32_t>(std::clamp<int64_t>(at[static_cast<size_t>(k)], 0, in - 1));
      a.weight[j] = w[static_cast<size_t>(k)];
    }
  }
  // The identity: every output reads its own index with weight 1 (and the rest with 0).
  a.identity = in == out && !crop;
  for (int64_t i = 0; a.identity && i < out; ++i)
    for (int k = 0; a.identity && k < a.taps; ++k) {
      const size_t j = static_cast<size_t>(i * a.taps + k);
      a.identity = a.weight[j] == 0 || (a.idx[j] == i && a.weight[j] == 1);
    }
  return a;
}

}  // namespace opal
