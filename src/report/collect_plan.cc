// A plan's pipeline timeline and Pareto front from an opal.plan/1 file: the best plan's stage
// times are put back into a plan::Plan and its iteration simulated (plan/plan_sim.h), event by
// event; the front and the homogeneous baselines are read as they are.
#include <fstream>
#include <sstream>

#include "collect.h"
#include "opal/plan_sim.h"

namespace opal::report {
namespace {

const char* KindName(plan::SimEvent::Kind k) {
  switch (k) {
    case plan::SimEvent::Kind::kForward:
      return "forward";
    case plan::SimEvent::Kind::kBackward:
      return "backward";
    case plan::SimEvent::Kind::kSend:
      return "send";
    case plan::SimEvent::Kind::kAllReduce:
      return "allreduce";
    case plan::SimEvent::Kind::kUpdate:
      return "update";
  }
  return "?";
}

Json Point(const Json& p, const std::string& label) {
  return {{"label", label},
          {"iteration_s", p.value("iteration_s", 0.0)},
          {"cost_per_iteration", p.value("cost_per_iteration", 0.0)},
          {"gpus", p.value("gpus", 0)},
          {"price_per_hour", p.value("price_per_hour", 0.0)}};
}

}  // namespace

Result<Json> CollectPlan(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error(ErrorCode::kNotFound, "--plan {}: cannot read it; write one with opal plan --json", path);
  std::stringstream text;
  text << in.rdbuf();
  const Json j = Json::parse(text.str(), nullptr, false);
  if (!j.is_object() || j.value("format", "") != "opal.plan/1" || !j.contains("best"))
    return Error(ErrorCode::kInvalidModel,
                 "--plan {}: not an opal.plan/1 document with a best plan (opal plan --json writes one)", path);
  const Json& best = j["best"];
  plan::Plan p;
  try {
    p.micro_batch = best.at("micro_batch").get<int>();
    p.num_micro = best.at("num_micro_batches").get<int>();
    for (const Json& s : best.at("stages")) {
      plan::StagePlan st;
      st.first = s.at("layers").at(0).get<int>();
      st.end = s.at("layers").at(1).get<int>();
      st.fwd = s.at("fwd_s").get<double>();
      st.bwd = s.at("bwd_s").get<double>();
      st.update = s.value("update_s", 0.0);
      st.allreduce = s.value("allreduce_s", 0.0);
      st.tied_allreduce = s.value("tied_allreduce_s", 0.0);
      st.p2p_out = s.value("p2p_out_s", 0.0);
      st.tp = s.value("tp", 1);
      st.dp = s.value("dp", 1);
      p.stages.push_back(st);
    }
  } catch (const Json::exception& e) {
    return Error(ErrorCode::kInvalidModel, "--plan {}: the best plan lacks a field: {}", path, e.what());
  }
  if (p.stages.empty() || p.num_micro < 1)
    return Error(ErrorCode::kInvalidModel, "--plan {}: the best plan has no stages", path);
  const plan::SimResult sim = plan::SimulateIteration(p);
  Json events = Json::array();
  for (const plan::SimEvent& e : sim.events)
    events.push_back({{"stage", e.stage}, {"micro_batch", e.micro}, {"kind", KindName(e.kind)},
                      {"start_s", e.start}, {"end_s", e.end}});
  Json front = Json::array();
  if (j.contains("pareto"))
    for (const Json& q : j["pareto"]) front.push_back(Point(q, "Pareto front"));
  Json homogeneous = Json::array();
  if (j.contains("homogeneous"))
    for (const Json& h : j["homogeneous"])
      if (h.value("found", false) && h.contains("plan"))
        homogeneous.push_back(Point(h["plan"], "homogeneous " + h.value("gpu", "")));
  Json stages = Json::array();
  for (const Json& s : best["stages"])
    stages.push_back({{"layers", s["layers"]}, {"gpu", s.value("gpu", "")}, {"gpus", s.value("gpus", 0)},
                      {"tp", s.value("tp", 1)}, {"dp", s.value("dp", 1)},
                      {"memory_gb", s.value("memory_bytes", 0.0) / 1e9}, {"source", s.value("time_source", "")}});
  return Json{{"file", path},
              {"model", j.value("model", "")},
              {"goal", j.value("goal", "")},
              {"best", Point(best, "best plan")},
              {"stages", std::move(stages)},
              {"simulated_iteration_s", sim.iter_time},
              {"events", std::move(events)},
              {"pareto", std::move(front)},
              {"homogeneous", std::move(homogeneous)},
              {"gain", j.value("gain", Json(nullptr))}};
}

}  // namespace opal::report
