// The contraction template's entry point (contraction_halide.h): the algorithm
// (contraction_algorithm.cc) then its schedule (contraction_schedule.cc).
#include "tune/contraction_halide.h"

#include "tune/contraction_algorithm.h"

namespace opal::tune {

void ConstrainToView(Halide::OutputImageParam p, const HalideView& v) {
  p.set_host_alignment(64);
  for (size_t i = 0; i < v.size(); ++i) {
    p.dim(static_cast<int>(i))
        .set_bounds(0, static_cast<int>(v[i].extent))
        .set_stride(static_cast<int>(v[i].stride));
  }
}

HalideView DenseHalideView(const std::vector<int64_t>& shape) {
  HalideView v;
  int64_t stride = 1;
  for (auto it = shape.rbegin(); it != shape.rend(); ++it) {
    v.push_back({*it, stride});
    stride *= *it;
  }
  return v;
}

std::string HalideErrorLine(const std::string& s) {
  std::string t = s.substr(0, s.find('\n', s.find_first_not_of('\n')));
  return t.size() > 400 ? t.substr(0, 400) : t;
}

Result<ContractionFuncs> DefineContraction(const Workload& w, const Config& config,
                                           const ContractionOptions& options) {
  try {
    OPAL_ASSIGN_OR_RETURN(ContractionAlgorithm a, DefineContractionAlgorithm(w, config, options));
    ScheduleContraction(a);
    return a.funcs;
  } catch (const Halide::Error& e) {
    return Error(ErrorCode::kFailed, "halide build failed: {}", HalideErrorLine(e.what()));
  }
}

}  // namespace opal::tune
