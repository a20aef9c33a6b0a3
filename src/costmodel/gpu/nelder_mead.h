// Nelder-Mead minimisation of a function of a few parameters, some of which may be held fixed.
// Internal to the GPU operator model.
#pragma once

#include <algorithm>
#include <array>
#include <functional>
#include <numeric>
#include <vector>

namespace opal::costmodel {

// Minimises `f` from `x0` (initial simplex: each free coordinate moved by `step`), for
// `iterations` steps; coordinates with free[i] == false keep their value. Deterministic.
template <size_t N>
std::array<double, N> NelderMead(const std::function<double(const std::array<double, N>&)>& f,
                                 std::array<double, N> x0, const std::array<bool, N>& free,
                                 int iterations, double step = 0.3) {
  using P = std::array<double, N>;
  std::vector<P> pts{x0};
  for (size_t i = 0; i < N; ++i) {
    if (!free[i]) continue;
    P x = x0;
    x[i] += step;
    pts.push_back(x);
  }
  std::vector<double> val(pts.size());
  for (size_t i = 0; i < pts.size(); ++i) val[i] = f(pts[i]);
  auto lerp = [](const P& a, const P& b, double t) {  // a + t (b - a)
    P r;
    for (size_t i = 0; i < N; ++i) r[i] = a[i] + t * (b[i] - a[i]);
    return r;
  };
  const size_t n = pts.size();
  for (int it = 0; it < iterations && n > 1; ++it) {
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return val[a] < val[b]; });
    std::vector<P> sp;
    std::vector<double> sv;
    for (size_t i : order) sp.push_back(pts[i]), sv.push_back(val[i]);
    pts.swap(sp);
    val.swap(sv);
    P centroid{};
    for (size_t i = 0; i + 1 < n; ++i)
      for (size_t d = 0; d < N; ++d) centroid[d] += pts[i][d] / static_cast<double>(n - 1);
    const P xr = lerp(centroid, pts[n - 1], -1.0);
    const double fr = f(xr);
    if (fr < val[0]) {
      const P xe = lerp(centroid, pts[n - 1], -2.0);
      const double fe = f(xe);
      pts[n - 1] = fe < fr ? xe : xr;
      val[n - 1] = std::min(fe, fr);
    } else if (fr < val[n - 2]) {
      pts[n - 1] = xr;
      val[n - 1] = fr;
    } else {
      const P xc = lerp(centroid, pts[n - 1], 0.5);
      const double fc = f(xc);
      if (fc < val[n - 1]) {
        pts[n - 1] = xc;
        val[n - 1] = fc;
      } else {
        for (size_t i = 1; i < n; ++i) {
          pts[i] = lerp(pts[0], pts[i], 0.5);
          val[i] = f(pts[i]);
        }
      }
    }
  }
  const size_t best = static_cast<size_t>(std::min_element(val.begin(), val.end()) - val.begin());
  return pts[best];
}

}  // namespace opal::costmodel
