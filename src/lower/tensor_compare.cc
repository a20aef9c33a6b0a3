#include "lower/tensor_compare.h"

#include <fmt/format.h>

#include <cmath>

namespace opal::lower {

std::string CompareTensors(const Tensor& got, const Tensor& expected, double atol, double rtol) {
  if (got.dtype() != expected.dtype()) {
    return fmt::format("dtype {} != expected {}", DTypeName(got.dtype()),
                       DTypeName(expected.dtype()));
  }
  if (got.shape() != expected.shape()) {
    return fmt::format("shape {} != expected {}", ShapeToString(got.shape()),
                       ShapeToString(expected.shape()));
  }
  int64_t bad = 0, first = -1;
  const bool is_float = IsFloat(got.dtype());
  for (int64_t i = 0; i < got.size(); ++i) {
    bool ok;
    if (is_float) {
      const double a = got.GetDouble(i), b = expected.GetDouble(i);
      if (std::isnan(a) || std::isnan(b)) {
        ok = std::isnan(a) && std::isnan(b);
      } else if (std::isinf(a) || std::isinf(b)) {
        ok = a == b;
      } else {
        ok = std::fabs(a - b) <= atol + rtol * std::fabs(b);
      }
    } else {
      ok = got.GetInt(i) == expected.GetInt(i);
    }
    if (!ok && bad++ == 0) first = i;
  }
  if (bad == 0) return "";
  return fmt::format("{} of {} elements differ; first at {}: got {}, expected {}", bad, got.size(),
                     first, got.GetDouble(first), expected.GetDouble(first));
}

double MaxRelativeError(const Tensor& got, const Tensor& expected) {
  if (got.dtype() != expected.dtype() || got.shape() != expected.shape()) return -1;
  double max_diff = 0, max_ref = 0;
  for (int64_t i = 0; i < got.size(); ++i) {
    const double a = got.GetDouble(i), b = expected.GetDouble(i);
    max_diff = std::max(max_diff, std::isnan(a - b) ? INFINITY : std::fabs(a - b));
    max_ref = std::max(max_ref, std::fabs(b));
  }
  if (max_diff == 0) return 0;
  return max_ref > 0 ? max_diff / max_ref : INFINITY;
}

}  // namespace opal::lower
