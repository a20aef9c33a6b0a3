// opal.plan: the training planner of `opal plan` for the common case -- a model (transformer JSON
// or ONNX forward graph), a cluster file, a goal, optionally measured profiles and a network
// file -- with the catalog, efficiencies and memory coefficients of data/catalog. Layer times
// come from the profiles when given, else the calibrated roofline. Returns the opal.plan/1
// document with the simulated iteration of the best plan ("events") and the SVG `opal plan --svg`
// writes. The planner's store and cost-model sources, replays and calibration stay with the CLI.
#include <pybind11/stl.h>

#include <filesystem>
#include <memory>
#include <string>

#include "bindings.h"
#include "errors.h"
#include "opal/onnx_import.h"
#include "opal/plan_report.h"

namespace py = pybind11;

namespace opal::python {
namespace {

using namespace opal::plan;

const char* EventKind(SimEvent::Kind k) {
  switch (k) {
    case SimEvent::Kind::kForward:
      return "forward";
    case SimEvent::Kind::kBackward:
      return "backward";
    case SimEvent::Kind::kSend:
      return "send";
    case SimEvent::Kind::kAllReduce:
      return "allreduce";
    case SimEvent::Kind::kUpdate:
      return "update";
  }
  return "?";
}

struct PlanRequest {
  std::string model, cluster, goal, profiles, network, catalog;
  int64_t global_batch = 0, iterations = 0;
  double time_limit = 2;
  int max_stages = 0, pareto_points = 4;
};

Result<ModelSpec> LoadPlanModel(const PlanRequest& r) {
  const std::filesystem::path p(r.model);
  ModelSpec m;
  if (p.extension() == ".onnx") {
    if (r.global_batch <= 0)
      return Error(ErrorCode::kInvalidArgument,
                   "an ONNX model needs global_batch (sequences or samples per iteration)");
    OPAL_ASSIGN_OR_RETURN(Graph g, ImportOnnxFile(r.model));
    const int64_t batch = g.inputs().empty() || g.value(g.inputs()[0]).shape.empty()
                              ? 1
                              : g.value(g.inputs()[0]).shape[0];
    OPAL_ASSIGN_OR_RETURN(m, ModelFromGraph(g, batch));
    m.name = r.model;
  } else {
    OPAL_ASSIGN_OR_RETURN(TransformerConfig c, LoadTransformerConfig(r.model));
    OPAL_ASSIGN_OR_RETURN(m, ModelFromTransformer(c));
  }
  if (r.global_batch > 0) m.global_batch = r.global_batch;
  if (r.iterations > 0) m.iterations = r.iterations;
  return m;
}

Result<Json> MakePlan(const PlanRequest& r) {
  const std::string dir = DefaultCatalogDir();
  OPAL_ASSIGN_OR_RETURN(Catalog catalog,
                        LoadCatalog(r.catalog.empty() ? dir + "/gpus.json" : r.catalog));
  if (!r.network.empty()) OPAL_RETURN_IF_ERROR(ApplySailorNetwork(r.network, &catalog));
  OPAL_ASSIGN_OR_RETURN(ModelSpec model, LoadPlanModel(r));
  ChainSource chain;
  if (!r.profiles.empty()) {
    OPAL_ASSIGN_OR_RETURN(auto p,
                          ProfileSource::Load(r.profiles, static_cast<int>(model.layers.size())));
    chain.Add(std::shared_ptr<const ProfileSource>(std::move(p)));
  }
  OPAL_ASSIGN_OR_RETURN(std::shared_ptr<const RooflineSource> roof,
                        RooflineSource::Load(dir + "/efficiency.json"));
  chain.Add(roof);
  if (r.cluster.empty())
    return Error(ErrorCode::kInvalidArgument, "a cluster file is required (which GPUs, how many)");
  OPAL_ASSIGN_OR_RETURN(Cluster cluster, LoadCluster(r.cluster, &catalog));
  if (!r.network.empty()) {  // the pools copied the catalog's GPUs: give them the measured links
    for (Pool& p : cluster.pools) p.gpu = *catalog.FindGpu(p.gpu.name);
  }
  PlanContext ctx{&model, &cluster, &chain, {}};
  if (std::filesystem::exists(dir + "/memory.json")) {
    OPAL_ASSIGN_OR_RETURN(ctx.options.memory, LoadMemoryCoefficients(dir + "/memory.json"));
  }
  OPAL_ASSIGN_OR_RETURN(Goal goal, Goal::Parse(r.goal));
  SearchOptions so;
  so.max_stages = r.max_stages;
  so.time_limit_s = r.time_limit;
  so.pareto_points = r.pareto_points;
  OPAL_ASSIGN_OR_RETURN(PlanReport rep, MakePlanReport(ctx, goal, so));
  if (!rep.best.found)
    return Error(ErrorCode::kFailed,
                 "no plan for {} on this cluster fits GPU memory and the goal '{}'; add GPUs with "
                 "more memory, relax the goal or lower the global batch",
                 model.name, goal.Describe());
  Json j = ReportJson(ctx, rep);
  const SimResult sim = SimulateIteration(rep.best.best);
  j["simulated_iteration_s"] = sim.iter_time;
  Json events = Json::array();
  for (const SimEvent& e : sim.events)
    events.push_back({{"stage", e.stage},
                      {"micro_batch", e.micro},
                      {"kind", EventKind(e.kind)},
                      {"start_s", e.start},
                      {"end_s", e.end}});
  j["events"] = std::move(events);
  j["svg"] = ReportSvg(ctx, rep, sim);
  j["text"] = ReportText(ctx, rep);
  return j;
}

std::string PlanJson(const py::dict& kw) {
  PlanRequest r;
  r.model = kw["model"].cast<std::string>();
  r.cluster = kw["cluster"].cast<std::string>();
  r.goal = kw["goal"].cast<std::string>();
  r.profiles = kw["profiles"].cast<std::string>();
  r.network = kw["network"].cast<std::string>();
  r.catalog = kw["catalog"].cast<std::string>();
  r.global_batch = kw["global_batch"].cast<int64_t>();
  r.iterations = kw["iterations"].cast<int64_t>();
  r.time_limit = kw["time_limit"].cast<double>();
  r.max_stages = kw["max_stages"].cast<int>();
  r.pareto_points = kw["pareto_points"].cast<int>();
  Result<Json> j = Status(ErrorCode::kInternal, "not run");
  {
    py::gil_scoped_release release;
    j = MakePlan(r);
  }
  return Unwrap(std::move(j)).dump();
}

}  // namespace

void BindPlan(py::module_& m) {
  m.def("plan_json", &PlanJson, py::arg("request"),
        "opal.plan/1 JSON with 'events' (the simulated iteration), 'svg' and 'text'.");
}

}  // namespace opal::python
