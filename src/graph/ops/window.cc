#include "graph/ops/window.h"

namespace opal::graph {

Result<WindowGeometry> ResolveWindow(const Attributes& attrs, const std::vector<int64_t>& in,
                                     const std::vector<int64_t>& kernel, bool allow_ceil_mode) {
  const size_t r = in.size();
  WindowGeometry w;
  w.kernel = kernel;
  w.strides = attrs.GetInts("strides", std::vector<int64_t>(r, 1));
  w.dilations = attrs.GetInts("dilations", std::vector<int64_t>(r, 1));
  w.pads = attrs.GetInts("pads", std::vector<int64_t>(2 * r, 0));
  if (w.kernel.size() != r || w.strides.size() != r || w.dilations.size() != r || w.pads.size() != 2 * r) {
    return Error(ErrorCode::kInvalidModel,
                 "kernel/strides/dilations/pads lengths ({}/{}/{}/{}) do not fit {} spatial dims", w.kernel.size(),
                 w.strides.size(), w.dilations.size(), w.pads.size(), r);
  }
  for (size_t i = 0; i < r; ++i) {
    if (w.kernel[i] <= 0 || w.strides[i] <= 0 || w.dilations[i] <= 0) {
      return Error(ErrorCode::kInvalidModel, "kernel, strides and dilations must be positive");
    }
    if (w.pads[i] < 0 || w.pads[i + r] < 0) return Error(ErrorCode::kInvalidModel, "pads must not be negative");
  }
  std::string auto_pad = attrs.GetString("auto_pad", "NOTSET");
  bool ceil_mode = allow_ceil_mode && attrs.GetInt("ceil_mode", 0) != 0;
  w.out.resize(r);
  for (size_t i = 0; i < r; ++i) {
    int64_t eff = (w.kernel[i] - 1) * w.dilations[i] + 1;  // effective window extent
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      int64_t out = (in[i] + w.strides[i] - 1) / w.strides[i];
      int64_t total = std::max<int64_t>(0, (out - 1) * w.strides[i] + eff - in[i]);
      int64_t small = total / 2, big = total - small;
      w.pads[i] = auto_pad == "SAME_UPPER" ? small : big;
      w.pads[i + r] = auto_pad == "SAME_UPPER" ? big : small;
      w.out[i] = out;
      continue;
    }
    if (auto_pad == "VALID") {
      w.pads[i] = w.pads[i + r] = 0;
    } else if (auto_pad != "NOTSET") {
      return Error(ErrorCode::kInvalidModel, "unknown auto_pad '{}'", auto_pad);
    }
    int64_t span = in[i] + w.pads[i] + w.pads[i + r] - eff;
    if (span < 0) {
      return Error(ErrorCode::kInvalidModel, "window of extent {} is larger than the padded input ({})", eff,
                   in[i] + w.pads[i] + w.pads[i + r]);
    }
    int64_t out = ceil_mode ? (span + w.strides[i] - 1) / w.strides[i] + 1 : span / w.strides[i] + 1;
    // With ceil_mode, the last window must start inside the input or left padding.
    if (ceil_mode && (out - 1) * w.strides[i] >= in[i] + w.pads[i]) --out;
    w.out[i] = out;
  }
  return w;
}

}  // namespace opal::graph
