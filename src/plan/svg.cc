// SVG report: the 1F1B timeline of one iteration of the best plan, and the time/cost front.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "opal/plan_report.h"

namespace opal::plan {
namespace {

std::string Escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<')
      o += "&lt;";
    else if (c == '>')
      o += "&gt;";
    else if (c == '&')
      o += "&amp;";
    else
      o += c;
  }
  return o;
}

const char* Color(SimEvent::Kind k) {
  switch (k) {
    case SimEvent::Kind::kForward:
      return "#4e79a7";
    case SimEvent::Kind::kBackward:
      return "#59a14f";
    case SimEvent::Kind::kSend:
      return "#bab0ac";
    case SimEvent::Kind::kAllReduce:
      return "#f28e2b";
    case SimEvent::Kind::kUpdate:
      return "#b07aa1";
  }
  return "#000";
}

}  // namespace

std::string ReportSvg(const PlanContext& ctx, const PlanReport& r, const SimResult& sim) {
  const double W = 1000, left = 150, right = 30, row = 26;
  const int S = r.best.found ? static_cast<int>(r.best.best.stages.size()) : 0;
  const double tl_top = 50, tl_h = std::max(1, S) * row;
  const double pf_top = tl_top + tl_h + 90, pf_h = 320;
  const double H = pf_top + pf_h + 60;
  std::string o = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
      W, H);
  o += fmt::format(
      "<text x=\"10\" y=\"20\" font-size=\"15\">{}: {} — one iteration of the best plan ({:.3f} s "
      "simulated, {:.3f} s estimated)</text>\n",
      Escape(ctx.model->name), Escape(r.goal.Describe()), sim.iter_time,
      r.best.found ? r.best.best.iter_time : 0.0);
  const double span = std::max(sim.iter_time, 1e-9), x_scale = (W - left - right) / span;
  for (int s = 0; s < S; ++s) {
    const auto& st = r.best.best.stages[s];
    double y = tl_top + s * row;
    o += fmt::format("<text x=\"5\" y=\"{}\">stage {} {}x{} L{}-{}</text>\n", y + 16, s, st.Gpus(),
                     Escape(ctx.cluster->pools[st.pool].gpu.name), st.first, st.end - 1);
  }
  for (const auto& e : sim.events) {
    double x = left + e.start * x_scale, w = std::max(0.3, (e.end - e.start) * x_scale);
    double y = tl_top + e.stage * row + 3;
    double h = e.kind == SimEvent::Kind::kSend ? 6 : row - 6;
    o += fmt::format(
        "<rect x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" height=\"{:.1f}\" fill=\"{}\" "
        "stroke=\"white\" stroke-width=\"0.3\"/>\n",
        x, e.kind == SimEvent::Kind::kSend ? y + row - 12 : y, w, h, Color(e.kind));
  }
  double ly = tl_top + tl_h + 20;
  const char* names[] = {"forward", "backward", "send/receive", "gradient all-reduce",
                         "optimizer step"};
  SimEvent::Kind kinds[] = {SimEvent::Kind::kForward, SimEvent::Kind::kBackward,
                            SimEvent::Kind::kSend, SimEvent::Kind::kAllReduce,
                            SimEvent::Kind::kUpdate};
  for (int i = 0; i < 5; ++i) {
    o += fmt::format(
        "<rect x=\"{}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"/><text x=\"{}\" "
        "y=\"{}\">{}</text>\n",
        left + i * 150, ly, Color(kinds[i]), left + i * 150 + 16, ly + 11, names[i]);
  }
  o += fmt::format(
      "<text x=\"{}\" y=\"{}\">0 s</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{:.3f} "
      "s</text>\n",
      left, tl_top - 6, W - right, tl_top - 6, span);

  // Pareto front: cost per iteration (x) against time per iteration (y), log-log.
  std::vector<std::pair<const Plan*, std::string>> pts;
  for (const auto& p : r.pareto) pts.push_back({&p, ""});
  for (size_t i = 0; i < r.homogeneous.size(); ++i)
    if (r.homogeneous[i].found)
      pts.push_back({&r.homogeneous[i].best, ctx.cluster->pools[i].gpu.name});
  o += fmt::format(
      "<text x=\"10\" y=\"{}\" font-size=\"15\">time/cost Pareto front (line) and best homogeneous "
      "plan per GPU type (squares)</text>\n",
      pf_top - 20);
  if (!pts.empty()) {
    double cx0 = INFINITY, cx1 = 0, ty0 = INFINITY, ty1 = 0;
    for (const auto& [p, _] : pts) {
      cx0 = std::min(cx0, p->CostPerIter());
      cx1 = std::max(cx1, p->CostPerIter());
      ty0 = std::min(ty0, p->iter_time);
      ty1 = std::max(ty1, p->iter_time);
    }
    cx0 *= 0.8;
    cx1 *= 1.25;
    ty0 *= 0.8;
    ty1 *= 1.25;
    auto X = [&](double c) {
      return left +
             (std::log(c) - std::log(cx0)) / (std::log(cx1) - std::log(cx0)) * (W - left - right);
    };
    auto Y = [&](double t) {
      return pf_top + pf_h - (std::log(t) - std::log(ty0)) / (std::log(ty1) - std::log(ty0)) * pf_h;
    };
    o += fmt::format(
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#888\"/>\n",
        left, pf_top, W - left - right, pf_h);
    o += fmt::format(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">cost per iteration (USD, log) {:.4g} … "
        "{:.4g}</text>\n",
        (W + left) / 2, pf_top + pf_h + 30, cx0, cx1);
    o += fmt::format(
        "<text x=\"10\" y=\"{}\">s/iteration (log)</text><text x=\"10\" "
        "y=\"{}\">{:.3g}</text><text x=\"10\" y=\"{}\">{:.3g}</text>\n",
        pf_top + pf_h / 2, pf_top + 10, ty1, pf_top + pf_h, ty0);
    std::string line;
    for (const auto& p : r.pareto)
      line += fmt::format("{:.1f},{:.1f} ", X(p.CostPerIter()), Y(p.iter_time));
    o += fmt::format(
        "<polyline points=\"{}\" fill=\"none\" stroke=\"#4e79a7\" stroke-width=\"2\"/>\n", line);
    for (const auto& [p, name] : pts) {
      double x = X(p->CostPerIter()), y = Y(p->iter_time);
      if (name.empty())
        o += fmt::format(
            "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"4\" fill=\"#4e79a7\"><title>{:.3f} s, "
            "${:.4f}, {} GPUs</title></circle>\n",
            x, y, p->iter_time, p->CostPerIter(), p->Gpus());
      else
        o += fmt::format(
            "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"8\" height=\"8\" fill=\"#e15759\"/><text "
            "x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n",
            x - 4, y - 4, x + 7, y - 6, Escape(name));
    }
    if (r.best.found) {
      const Plan& b = r.best.best;
      o += fmt::format(
          "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"8\" fill=\"none\" stroke=\"#f28e2b\" "
          "stroke-width=\"2\"/><text x=\"{:.1f}\" y=\"{:.1f}\">chosen</text>\n",
          X(b.CostPerIter()), Y(b.iter_time), X(b.CostPerIter()) + 10, Y(b.iter_time) + 14);
    }
  }
  o += "</svg>\n";
  return o;
}

}  // namespace opal::plan
