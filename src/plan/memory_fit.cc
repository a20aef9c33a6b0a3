// Fitting the memory model's free coefficients (plan_fit.h).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "opal/plan_fit.h"

namespace opal::plan {
namespace {

double Bytes(const MemoryParts& p, const MemoryCoefficients& k, double default_reserve) {
  auto it = k.reserve.find(p.gpu);
  const double reserve = it == k.reserve.end() ? default_reserve : it->second;
  return reserve + p.state + k.state_extra_bytes * p.params_per_gpu +
         k.activation_scale * p.activations + p.exact + p.buffers;
}

// Solves the n x n system a x = b in place (Gaussian elimination, partial pivoting); false when
// it is singular.
bool Solve(std::vector<std::vector<double>> a, std::vector<double> b, std::vector<double>* x) {
  const size_t n = b.size();
  for (size_t c = 0; c < n; ++c) {
    size_t piv = c;
    for (size_t r = c + 1; r < n; ++r)
      if (std::fabs(a[r][c]) > std::fabs(a[piv][c])) piv = r;
    if (std::fabs(a[piv][c]) < 1e-12) return false;
    std::swap(a[c], a[piv]);
    std::swap(b[c], b[piv]);
    for (size_t r = c + 1; r < n; ++r) {
      const double f = a[r][c] / a[c][c];
      for (size_t k = c; k < n; ++k) a[r][k] -= f * a[c][k];
      b[r] -= f * b[c];
    }
  }
  x->assign(n, 0);
  for (size_t c = n; c-- > 0;) {
    double s = b[c];
    for (size_t k = c + 1; k < n; ++k) s -= a[c][k] * (*x)[k];
    (*x)[c] = s / a[c][c];
  }
  return true;
}

}  // namespace

double PredictPeakMemory(const MemoryObservation& o, const MemoryCoefficients& k,
                         double default_reserve) {
  double peak = 0;  // no more than a GPU has: the run happened
  for (const auto& p : o.gpus)
    peak = std::max(peak, p.capacity > 0 ? std::min(Bytes(p, k, default_reserve), p.capacity)
                                         : Bytes(p, k, default_reserve));
  return peak;
}

Result<MemoryCoefficients> FitMemoryCoefficients(const std::vector<MemoryObservation>& obs,
                                                 double default_reserve) {
  MemoryCoefficients k;               // start from the unfitted model
  std::map<std::string, int> column;  // reserve columns, by GPU type, after scale and extra
  for (int iter = 0; iter < 50; ++iter) {
    // Which GPU holds each run's peak under the current coefficients.
    std::vector<const MemoryParts*> peak;
    std::map<std::string, int> cols;
    for (const auto& o : obs) {
      const MemoryParts* best = nullptr;
      for (const auto& p : o.gpus)
        if (!best || Bytes(p, k, default_reserve) > Bytes(*best, k, default_reserve)) best = &p;
      peak.push_back(best);
      if (best && !cols.count(best->gpu))
        cols.emplace(best->gpu, 2 + static_cast<int>(cols.size()));
    }
    const size_t n = 2 + cols.size();
    if (obs.size() < n)
      return Error(ErrorCode::kInvalidArgument,
                   "{} measured runs cannot fit {} memory coefficients", obs.size(), n);
    // Normal equations of sum_i ((pred_i - y_i) / y_i)^2, linear in the coefficients; columns
    // scaled to unit size so that bytes, bytes per parameter and plain factors mix.
    std::vector<std::vector<double>> rows;
    std::vector<double> targets, scale(n, 0);
    for (size_t i = 0; i < obs.size(); ++i) {
      const MemoryParts& p = *peak[i];
      const double y = obs[i].measured;
      std::vector<double> row(n, 0);
      row[0] = p.activations / y;
      row[1] = p.params_per_gpu / y;
      row[cols[p.gpu]] = 1 / y;
      for (size_t c = 0; c < n; ++c) scale[c] = std::max(scale[c], std::fabs(row[c]));
      rows.push_back(row);
      targets.push_back(1 - (p.state + p.exact + p.buffers) / y);
    }
    std::vector<std::vector<double>> ata(n, std::vector<double>(n, 0));
    std::vector<double> atb(n, 0);
    for (size_t i = 0; i < rows.size(); ++i)
      for (size_t r = 0; r < n; ++r) {
        const double vr = scale[r] > 0 ? rows[i][r] / scale[r] : 0;
        for (size_t c = 0; c < n; ++c) ata[r][c] += vr * (scale[c] > 0 ? rows[i][c] / scale[c] : 0);
        atb[r] += vr * targets[i];
      }
    std::vector<double> x;
    if (!Solve(ata, atb, &x))
      return Error(ErrorCode::kInvalidArgument,
                   "the measured runs do not tell the memory coefficients apart (too alike)");
    for (size_t c = 0; c < n; ++c) x[c] = scale[c] > 0 ? x[c] / scale[c] : 0;
    MemoryCoefficients next;
    next.activation_scale = std::max(1e-3, x[0]);
    next.state_extra_bytes = std::max(0.0, x[1]);
    for (const auto& [gpu, c] : cols) next.reserve[gpu] = std::max(0.0, x[c]);
    const bool settled = cols == column && std::fabs(next.activation_scale - k.activation_scale) <
                                               1e-9 * k.activation_scale;
    k = next;
    column = cols;
    if (settled) break;
  }
  double err = 0;
  for (const auto& o : obs)
    err += std::fabs(PredictPeakMemory(o, k, default_reserve) / o.measured - 1);
  k.fitted_on = fmt::format("{} measured peaks (fit MAPE {:.1f}%)", obs.size(),
                            100 * err / static_cast<double>(obs.size()));
  return k;
}

Result<std::vector<double>> LeaveOneOutMemory(const std::vector<MemoryObservation>& obs,
                                              double default_reserve) {
  std::vector<double> out;
  for (size_t i = 0; i < obs.size(); ++i) {
    std::vector<MemoryObservation> rest;
    for (size_t j = 0; j < obs.size(); ++j)
      if (j != i) rest.push_back(obs[j]);
    OPAL_ASSIGN_OR_RETURN(MemoryCoefficients k, FitMemoryCoefficients(rest, default_reserve));
    out.push_back(PredictPeakMemory(obs[i], k, default_reserve));
  }
  return out;
}

Json MemoryCoefficientsToJson(const MemoryCoefficients& k) {
  Json reserve = Json::object();
  for (const auto& [gpu, b] : k.reserve) reserve[gpu] = b / 1e9;
  return Json{{"activation_scale", k.activation_scale},
              {"state_extra_bytes", k.state_extra_bytes},
              {"reserve_gb", reserve},
              {"fitted_on", k.fitted_on}};
}

}  // namespace opal::plan
