// opal plan --model MODEL --cluster FILE [--goal G] [--profiles DIR] [--store DSN]
//           [--cost-model FILE] [--json] [--svg FILE]
// opal plan --model MODEL --profiles DIR --replay DIR... [--leave-one-out | --calibrate-memory]
//           (predict measured Sailor plans; fit or check the memory coefficients on them)
// opal plan --calibrate --calibrate-with MODEL.json:PROFILE_DIR ... [--deepbench gemm.csv]
// opal plan --store DSN --op-model-check          (GPU operator model, leave one GPU type out)
// opal plan --model M --profiles DIR --store DSN --layers-vs-profiles
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>

#include "commands.h"
#include "opal/cost_model.h"
#include "opal/log.h"
#include "opal/onnx_import.h"
#include "opal/plan_gpu_ops.h"
#include "opal/plan_replay.h"
#include "opal/plan_report.h"

namespace opal::cli {
namespace {

using namespace opal::plan;

struct Options {
  std::string model, cluster, goal = "throughput", profiles, catalog, efficiency, network, svg,
                              deepbench, store, store_targets, cost_model, memory, transfer;
  std::vector<std::string> calibrate_with, input_shapes, replay;
  bool json = false, calibrate = false, homogeneous_only = false, p2p_split = false,
       store_coarse = false, hierarchical = false, leave_one_out = false, calibrate_memory = false,
       op_model = false, op_model_check = false, layers_vs_profiles = false;
  int max_mixed = 4;
  int64_t iterations = 0, global_batch = 0;
  int max_stages = 0, max_tp = 8, max_micro_batch = 512, pareto_points = 4, threads = 0;
  double time_limit = 2;
  std::vector<int> micro_batches;
};

// `shape` receives the transformer configuration when the model is one (the store and cost-model
// sources derive per-operator workloads from it).
Result<ModelSpec> LoadModel(const Options& o, std::optional<TransformerConfig>* shape) {
  if (o.model.empty())
    return Error(ErrorCode::kInvalidArgument,
                 "--model is required (a transformer JSON or an ONNX file)");
  ModelSpec m;
  if (o.model.size() > 5 && o.model.substr(o.model.size() - 5) == ".onnx") {
    if (o.global_batch <= 0)
      return Error(ErrorCode::kInvalidArgument,
                   "an ONNX model needs --global-batch (sequences or samples per iteration)");
    ImportOptions io;
    OPAL_ASSIGN_OR_RETURN(io.input_shapes, ParseInputShapes(o.input_shapes));
    OPAL_ASSIGN_OR_RETURN(Graph g, ImportOnnxFile(o.model, io));
    int64_t batch = g.inputs().empty() || g.value(g.inputs()[0]).shape.empty()
                        ? 1
                        : g.value(g.inputs()[0]).shape[0];
    OPAL_ASSIGN_OR_RETURN(m, ModelFromGraph(g, batch));
    m.name = o.model;
  } else {
    OPAL_ASSIGN_OR_RETURN(TransformerConfig c, LoadTransformerConfig(o.model));
    OPAL_ASSIGN_OR_RETURN(m, ModelFromTransformer(c));
    *shape = c;
  }
  if (o.global_batch > 0) m.global_batch = o.global_batch;
  if (o.iterations > 0) m.iterations = o.iterations;
  return m;
}

Status Calibrate(const Options& o, const Catalog& catalog) {
  std::vector<ModelSpec> models;
  std::vector<std::unique_ptr<ProfileSource>> profs;
  models.reserve(o.calibrate_with.size());
  CalibrationInput in;
  in.deepbench_gemm_csv = o.deepbench;
  for (const auto& spec : o.calibrate_with) {
    size_t colon = spec.find(':');
    if (colon == std::string::npos)
      return Error(ErrorCode::kInvalidArgument,
                   "--calibrate-with '{}': expected MODEL.json:PROFILE_DIR", spec);
    OPAL_ASSIGN_OR_RETURN(TransformerConfig c, LoadTransformerConfig(spec.substr(0, colon)));
    OPAL_ASSIGN_OR_RETURN(ModelSpec m, ModelFromTransformer(c));
    models.push_back(m);
    OPAL_ASSIGN_OR_RETURN(
        auto p, ProfileSource::Load(spec.substr(colon + 1), static_cast<int>(m.layers.size())));
    profs.push_back(std::move(p));
  }
  for (size_t i = 0; i < models.size(); ++i) in.profiles.push_back({&models[i], profs[i].get()});
  if (in.profiles.empty() && in.deepbench_gemm_csv.empty())
    return Error(ErrorCode::kInvalidArgument,
                 "--calibrate needs --calibrate-with MODEL.json:PROFILE_DIR or --deepbench FILE");
  OPAL_ASSIGN_OR_RETURN(Json j, plan::Calibrate(catalog, in));
  fmt::print("{}\n", j.dump(2));
  return Status::Ok();
}

// The GPU operator model fitted on every record of a catalog GPU type's target in `store`.
Result<std::shared_ptr<const GpuOpModel>> FitOpModel(RecordStore& store, const Catalog& catalog,
                                                     const std::map<std::string, Target>& targets) {
  OPAL_ASSIGN_OR_RETURN(auto samples, StoreGpuOpSamples(store, catalog, targets));
  if (samples.empty())
    return Error(ErrorCode::kNotFound,
                 "--op-model: {} holds no dense, batch_matmul or conv2d record on a catalog GPU "
                 "type's target; import some (opal db import --deepbench ../shared/data/deepbench)",
                 store.Describe());
  OPAL_ASSIGN_OR_RETURN(GpuOpModel m, GpuOpModel::Fit(samples, GpuSpecs(catalog)));
  return std::make_shared<const GpuOpModel>(std::move(m));
}

// Layer times from the store's records (and, with --op-model, the operator model fitted on
// them); nullptr (with a warning) when the model is not a transformer JSON.
Result<std::shared_ptr<StoreSource>> MakeStoreSource(const Options& o, const Catalog& catalog,
                                                     const std::optional<TransformerConfig>& shape,
                                                     std::map<std::string, Target> targets,
                                                     std::shared_ptr<const RooflineSource> roof) {
  OPAL_ASSIGN_OR_RETURN(auto store, OpenExistingStore(o.store));
  if (!shape) {
    log::Warn(
        "--store: the model is not a transformer JSON, so its operators are unknown; the "
        "store is not used");
    return std::shared_ptr<StoreSource>();
  }
  StoreSourceOptions so;
  so.coarse_fallback = o.store_coarse;
  if (o.op_model || o.layers_vs_profiles) {
    OPAL_ASSIGN_OR_RETURN(so.op_model, FitOpModel(*store, catalog, targets));
  }
  return std::make_shared<StoreSource>(std::move(store), *shape, std::move(targets),
                                       std::move(roof), so);
}

// Leave-one-GPU-out of the operator model over the store's records.
Status OpModelCheck(const Options& o, const Catalog& catalog,
                    const std::map<std::string, Target>& targets) {
  OPAL_ASSIGN_OR_RETURN(auto store, OpenExistingStore(o.store));
  OPAL_ASSIGN_OR_RETURN(auto samples, StoreGpuOpSamples(*store, catalog, targets));
  OPAL_ASSIGN_OR_RETURN(auto rows, LeaveOneGpuOut(samples, GpuSpecs(catalog)));
  std::map<std::string, std::pair<double, int64_t>> per_pass;
  Json j{{"store", store->Describe()}, {"rows", Json::array()}, {"per_pass", Json::object()}};
  std::string text = fmt::format(
      "GPU operator model, leave one GPU type out: each GPU type's records predicted by a model "
      "fitted on the others'\n{:<16} {:<9} {:<16} {:>6} {:>8}\n",
      "gpu", "dtype", "pass", "ops", "MAPE");
  for (const auto& r : rows) {
    j["rows"].push_back({{"gpu", r.gpu},
                         {"dtype", r.dtype},
                         {"pass", GpuOpPassName(r.pass)},
                         {"ops", r.samples},
                         {"mape", r.mape}});
    text += fmt::format("{:<16} {:<9} {:<16} {:>6} {:>7.1f}%\n", r.gpu, r.dtype,
                        GpuOpPassName(r.pass), r.samples, r.mape);
    auto& a = per_pass[GpuOpPassName(r.pass)];
    a.first += r.mape * static_cast<double>(r.samples);
    a.second += r.samples;
  }
  text += "over all GPU types:";
  for (const auto& [pass, a] : per_pass) {
    j["per_pass"][pass] = {{"ops", a.second}, {"mape", a.first / static_cast<double>(a.second)}};
    text += fmt::format(" {} {:.1f}% ({} ops)", pass, a.first / static_cast<double>(a.second),
                        a.second);
  }
  fmt::print("{}", o.json ? j.dump(2) + "\n" : text + "\n");
  return Status::Ok();
}

// Layer-time sources in order: profile > store > cost model > roofline.
Result<std::shared_ptr<ChainSource>> MakeChain(const Options& o, const std::string& dir,
                                               const Catalog& catalog, const ModelSpec& model,
                                               const std::optional<TransformerConfig>& shape) {
  auto chain = std::make_shared<ChainSource>();
  if (!o.transfer.empty() && o.profiles.empty())
    return Error(ErrorCode::kInvalidArgument,
                 "--transfer-profiles carries profiles over to this model's: give --profiles too");
  if (!o.profiles.empty()) {
    OPAL_ASSIGN_OR_RETURN(auto p,
                          ProfileSource::Load(o.profiles, static_cast<int>(model.layers.size())));
    std::shared_ptr<const ProfileSource> own(std::move(p));
    chain->Add(own);
    if (!o.transfer.empty()) {
      const size_t colon = o.transfer.find(':');
      if (colon == std::string::npos)
        return Error(ErrorCode::kInvalidArgument,
                     "--transfer-profiles '{}': expected MODEL.json:PROFILE_DIR", o.transfer);
      OPAL_ASSIGN_OR_RETURN(TransformerConfig rc,
                            LoadTransformerConfig(o.transfer.substr(0, colon)));
      OPAL_ASSIGN_OR_RETURN(ModelSpec rm, ModelFromTransformer(rc));
      OPAL_ASSIGN_OR_RETURN(auto rp, ProfileSource::Load(o.transfer.substr(colon + 1),
                                                         static_cast<int>(rm.layers.size())));
      chain->Add(std::make_shared<ProfileTransferSource>(
          own, std::shared_ptr<const ProfileSource>(std::move(rp)), rm, catalog.gpus));
    }
  }
  std::string eff = o.efficiency.empty() ? dir + "/efficiency.json" : o.efficiency;
  OPAL_ASSIGN_OR_RETURN(std::shared_ptr<const RooflineSource> roof, RooflineSource::Load(eff));
  std::map<std::string, Target> targets;
  if (!o.store.empty() || !o.cost_model.empty()) {
    OPAL_ASSIGN_OR_RETURN(
        targets, LoadGpuTargets(o.store_targets.empty() ? dir + "/targets.json" : o.store_targets));
  }
  if (!o.store.empty()) {
    OPAL_ASSIGN_OR_RETURN(auto src, MakeStoreSource(o, catalog, shape, targets, roof));
    if (src) chain->Add(src);
  }
  if (!o.cost_model.empty()) {
    OPAL_ASSIGN_OR_RETURN(CostModel cm, LoadCostModel(o.cost_model, StoreDsn(o.store)));
    auto src = std::make_shared<CostModelSource>(cm.info(), targets);
    chain->Add(src);
    log::Warn(
        "--cost-model {}: no layer times from it: its scores rank configs of one workload "
        "(objective {}), they are not seconds",
        o.cost_model, cm.info().objective);
  }
  chain->Add(roof);
  return chain;
}

// Layer times built from operators (store records, the operator model for the rest) against the
// measured profiles.
Status LayersVsProfiles(const Options& o, const std::string& dir, const Catalog& catalog,
                        const ModelSpec& model, const std::optional<TransformerConfig>& shape) {
  if (o.profiles.empty() || !shape)
    return Error(ErrorCode::kInvalidArgument,
                 "--layers-vs-profiles compares with measured profiles: give a transformer JSON "
                 "--model and its --profiles DIR");
  OPAL_ASSIGN_OR_RETURN(auto profiles,
                        ProfileSource::Load(o.profiles, static_cast<int>(model.layers.size())));
  OPAL_ASSIGN_OR_RETURN(
      std::shared_ptr<const RooflineSource> roof,
      RooflineSource::Load(o.efficiency.empty() ? dir + "/efficiency.json" : o.efficiency));
  OPAL_ASSIGN_OR_RETURN(auto targets, LoadGpuTargets(o.store_targets.empty() ? dir + "/targets.json"
                                                                             : o.store_targets));
  OPAL_ASSIGN_OR_RETURN(auto ops, MakeStoreSource(o, catalog, shape, targets, roof));
  Json j = CompareLayersWithProfiles(model, *profiles, *ops, catalog);
  if (o.json) {
    fmt::print("{}\n", j.dump(2));
    return Status::Ok();
  }
  fmt::print(
      "transformer blocks of {} built from operators (store records, the operator model "
      "where none) vs the measured profiles\n{:<12} {:>7} {:>9} {:>9} {:>9} {:>10} {:>10}\n",
      model.name, "gpu", "blocks", "fwd MAPE", "bwd MAPE", "MAPE", "measured", "predicted");
  for (const auto& [gpu, g] : j["gpus"].items())
    fmt::print("{:<12} {:>7} {:>8.1f}% {:>8.1f}% {:>8.1f}% {:>10} {:>10}\n", gpu,
               g["blocks"].get<int64_t>(), g["fwd_mape"].get<double>(), g["bwd_mape"].get<double>(),
               g["mape"].get<double>(), g["products_measured"].get<int64_t>(),
               g["products_predicted"].get<int64_t>());
  fmt::print("all: {:.1f}% (fwd {:.1f}%, bwd {:.1f}%) over {} blocks\n", j["mape"].get<double>(),
             j["fwd_mape"].get<double>(), j["bwd_mape"].get<double>(), j["blocks"].get<int64_t>());
  return Status::Ok();
}

// How many layers of the plan took their times from each source.
std::map<std::string, int> LayerSources(const PlanContext& ctx, const Plan& plan) {
  std::map<std::string, int> n;
  for (const auto& st : plan.stages) {
    const GpuType& gpu = ctx.cluster->pools[st.pool].gpu;
    for (int l = st.first; l < st.end; ++l) {
      auto t = ctx.perf->Time(*ctx.model, l, gpu, plan.micro_batch / st.dp, st.tp);
      ++n[t ? t->source : "none"];
    }
  }
  return n;
}

// Replays measured plans; with --calibrate-memory prints the memory coefficients fitted on them
// (the content of data/catalog/memory.json), with --leave-one-out adds each run's peak predicted
// from the others. A --replay entry MODEL.json:PROFILE_DIR:PLAN_DIR replays with its own model
// and profiles (one fit over several models' runs).
Status Replay(const Options& o, const std::string& dir, const Catalog* catalog,
              const PlanContext& base) {
  ReplaySummary sum;
  for (const auto& entry : o.replay) {
    PlanContext ctx = base;
    std::string plans = entry;
    ModelSpec model;
    std::shared_ptr<ChainSource> chain;
    const size_t c1 = entry.find(':'), c2 = c1 == std::string::npos ? c1 : entry.find(':', c1 + 1);
    if (c2 != std::string::npos) {
      Options own = o;
      own.model = entry.substr(0, c1);
      own.profiles = entry.substr(c1 + 1, c2 - c1 - 1);
      plans = entry.substr(c2 + 1);
      std::optional<TransformerConfig> shape;
      OPAL_ASSIGN_OR_RETURN(model, LoadModel(own, &shape));
      OPAL_ASSIGN_OR_RETURN(chain, MakeChain(own, dir, *catalog, model, shape));
      ctx.model = &model;
      ctx.perf = chain.get();
    }
    OPAL_ASSIGN_OR_RETURN(ReplayReport rep, ReplaySailorDir(plans, ctx));
    sum.dirs.push_back(plans);
    sum.sets.push_back(std::move(rep));
  }
  if (o.calibrate_memory) {
    OPAL_ASSIGN_OR_RETURN(MemoryCoefficients k, FitMemoryCoefficients(MemoryObservations(sum),
                                                                      base.options.reserve_bytes));
    Json j = MemoryCoefficientsToJson(k);
    std::string dirs;
    for (const auto& d : sum.dirs) dirs += (dirs.empty() ? "" : ", ") + d;
    j["about"] = fmt::format(
        "Memory coefficients of the planner (docs/planner.md), fitted by opal plan "
        "--calibrate-memory on the measured peaks (max_mem) of the plans under {}",
        dirs);
    fmt::print("{}\n", j.dump(2));
    return Status::Ok();
  }
  if (o.leave_one_out) OPAL_RETURN_IF_ERROR(AddLeaveOneOut(&sum, base.options.reserve_bytes));
  fmt::print("{}", o.json ? ReplayJson(sum).dump(2) + "\n" : ReplayText(sum));
  return Status::Ok();
}

Status Run(const Options& o) {
  std::string dir = DefaultCatalogDir();
  OPAL_ASSIGN_OR_RETURN(Catalog catalog,
                        LoadCatalog(o.catalog.empty() ? dir + "/gpus.json" : o.catalog));
  if (!o.network.empty()) OPAL_RETURN_IF_ERROR(ApplySailorNetwork(o.network, &catalog));
  if (o.calibrate) return Calibrate(o, catalog);
  if ((o.op_model || o.op_model_check || o.layers_vs_profiles) && o.store.empty())
    return Error(ErrorCode::kInvalidArgument,
                 "--op-model, --op-model-check and --layers-vs-profiles read the store's "
                 "records: give --store DSN");
  if (o.op_model_check) {
    OPAL_ASSIGN_OR_RETURN(
        auto targets,
        LoadGpuTargets(o.store_targets.empty() ? dir + "/targets.json" : o.store_targets));
    return OpModelCheck(o, catalog, targets);
  }
  std::optional<TransformerConfig> shape;
  OPAL_ASSIGN_OR_RETURN(ModelSpec model, LoadModel(o, &shape));
  if (o.layers_vs_profiles) return LayersVsProfiles(o, dir, catalog, model, shape);
  OPAL_ASSIGN_OR_RETURN(auto chain, MakeChain(o, dir, catalog, model, shape));

  Cluster cluster;
  if (!o.replay.empty() &&
      o.cluster.empty()) {  // replay: every catalog GPU, as many as a plan names
    for (const auto& g : catalog.gpus) {
      const InstanceType* i = catalog.CheapestInstanceFor(g.name);
      if (i) cluster.pools.push_back(Pool{g, *i, 1 << 30});
    }
  } else {
    if (o.cluster.empty())
      return Error(ErrorCode::kInvalidArgument,
                   "--cluster FILE is required (which GPUs, how many)");
    OPAL_ASSIGN_OR_RETURN(cluster, LoadCluster(o.cluster, &catalog));
    if (!o.network.empty()) {  // the cluster's pools were copied before: refresh their links
      for (auto& p : cluster.pools) p.gpu = *catalog.FindGpu(p.gpu.name);
    }
  }
  PlanContext ctx{&model, &cluster, chain.get(), {}};
  ctx.options.p2p_split_by_tp = o.p2p_split;
  ctx.options.hierarchical_allreduce = o.hierarchical;
  {
    // Memory coefficients: the shipped fit unless a file is named (a named file must exist).
    const std::string path = o.memory.empty() ? dir + "/memory.json" : o.memory;
    // (Fitting them does not use them: a file being rewritten by the fit is not read.)
    if (!o.calibrate_memory && (!o.memory.empty() || std::filesystem::exists(path))) {
      OPAL_ASSIGN_OR_RETURN(ctx.options.memory, LoadMemoryCoefficients(path));
    }
  }

  if (!o.replay.empty()) return Replay(o, dir, &catalog, ctx);
  if (o.leave_one_out || o.calibrate_memory)
    return Error(ErrorCode::kInvalidArgument,
                 "--leave-one-out and --calibrate-memory work on measured plans: add --replay DIR");

  OPAL_ASSIGN_OR_RETURN(Goal goal, Goal::Parse(o.goal));
  SearchOptions so;
  so.max_stages = o.max_stages;
  so.max_tp = o.max_tp;
  so.max_micro_batch = o.max_micro_batch;
  so.micro_batches = o.micro_batches;
  so.allow_heterogeneous = !o.homogeneous_only;
  so.max_mixed_replicas = o.max_mixed;
  so.time_limit_s = o.time_limit;
  so.pareto_points = o.pareto_points;
  so.threads = o.threads;
  OPAL_ASSIGN_OR_RETURN(PlanReport rep, MakePlanReport(ctx, goal, so));
  if (!rep.best.found)
    return Error(ErrorCode::kFailed,
                 "no plan for {} on this cluster fits GPU memory and the goal '{}'; add GPUs with "
                 "more memory, "
                 "relax the goal or lower the global batch",
                 model.name, goal.Describe());
  if (!o.svg.empty()) {
    std::ofstream out(o.svg);
    if (!out) return Error(ErrorCode::kIo, "cannot write --svg file '{}'", o.svg);
    out << ReportSvg(ctx, rep, SimulateIteration(rep.best.best));
    if (!out.good()) return Error(ErrorCode::kIo, "cannot write --svg file '{}'", o.svg);
  }
  const std::map<std::string, int> sources = LayerSources(ctx, rep.best.best);
  if (o.json) {
    Json j = ReportJson(ctx, rep);
    j["simulated_iteration_s"] = SimulateIteration(rep.best.best).iter_time;
    j["layer_sources"] = sources;
    fmt::print("{}\n", j.dump(2));
  } else {
    fmt::print("{}", ReportText(ctx, rep));
    std::string counts;
    for (const auto& [name, n] : sources)
      counts += fmt::format("{}{} {}", counts.empty() ? "" : ", ", name, n);
    fmt::print("layer times of the best plan: {}\n", counts);
    fmt::print("simulated iteration of the best plan: {:.3f} s (estimate {:.3f} s)\n",
               SimulateIteration(rep.best.best).iter_time, rep.best.best.iter_time);
  }
  return Status::Ok();
}

}  // namespace

void AddPlanCommand(CLI::App& app, CommandFn* run) {
  auto o = std::make_shared<Options>();
  CLI::App* sub = app.add_subcommand(
      "plan", "Plan training on mixed GPUs: stages, GPU types and counts, parallelism");
  sub->add_option("--model", o->model,
                  "Transformer JSON (layers, hidden, heads, ...) or ONNX forward graph");
  sub->add_option("--cluster", o->cluster, "Cluster JSON: available GPUs (and catalog overrides)");
  sub->add_option(
      "--goal", o->goal,
      "throughput | cost | deadline=36h | budget=USD | hourly=USD (default throughput)");
  sub->add_option(
      "--profiles", o->profiles,
      "Measured per-layer profiles of this model (Sailor format: DIR/<GPU>/profile.json)");
  sub->add_option("--transfer-profiles", o->transfer,
                  "MODEL.json:PROFILE_DIR of another model: GPUs without a profile of this model "
                  "take theirs of that model, scaled by the two models' measured ratio on the "
                  "closest GPU profiled for both");
  sub->add_option("--catalog", o->catalog,
                  "GPU/instance catalog (default: data/catalog/gpus.json)");
  sub->add_option(
      "--store", o->store,
      "Tuning-record store (DSN, e.g. sqlite:records.db) whose per-operator records give "
      "layer times; not consulted without this flag ($OPAL_STORE is not read)");
  sub->add_option("--store-targets", o->store_targets,
                  "GPU type -> tuning target map (default: data/catalog/targets.json)");
  sub->add_flag("--op-model", o->op_model,
                "With --store: time the matrix products without records by the GPU operator "
                "model fitted on the store's records of other GPU types (layer source op-model)");
  sub->add_flag("--op-model-check", o->op_model_check,
                "With --store: leave-one-GPU-out error of the GPU operator model on the store's "
                "records, per GPU type, dtype and pass");
  sub->add_flag("--layers-vs-profiles", o->layers_vs_profiles,
                "With --store and --profiles: transformer blocks built from operators (records, "
                "else the operator model) against the measured profiles");
  sub->add_flag("--store-coarse", o->store_coarse,
                "Also use records of devices with the same coarse target key (e.g. cuda-sm_80)");
  sub->add_option("--cost-model", o->cost_model,
                  "Cost model file (opal costmodel train); checked, but it ranks configs and gives "
                  "no seconds, so layer times fall through to the roofline");
  sub->add_option("--efficiency", o->efficiency,
                  "Roofline efficiencies (default: data/catalog/efficiency.json)");
  sub->add_option("--network", o->network, "Measured link curves (Sailor network_coeffs JSON)");
  sub->add_option("--iterations", o->iterations,
                  "Iterations of the job (for deadline/budget goals and job totals)");
  sub->add_option("--global-batch", o->global_batch,
                  "Global batch per iteration (overrides the model file)");
  sub->add_option("--input-shape", o->input_shapes, "ONNX input shape NAME=DIMS (repeatable)");
  sub->add_option("--max-stages", o->max_stages,
                  "Most pipeline stages (default: number of layers)");
  sub->add_option("--max-tp", o->max_tp, "Largest tensor-parallel degree (default 8)");
  sub->add_option("--micro-batch", o->micro_batches,
                  "Global micro-batch sizes to try (default: divisors of the batch)");
  sub->add_option("--max-micro-batch", o->max_micro_batch,
                  "Largest global micro-batch tried by default (512)");
  sub->add_option("--time-limit", o->time_limit,
                  "Seconds per search before returning the best plan so far (default 2; 0 = search "
                  "to the proven optimum)");
  sub->add_option("--threads", o->threads,
                  "Threads for the search's independent parts and the report's searches (default "
                  "0: every CPU this process may run on; the plan found without a time limit is "
                  "the same)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--pareto-points", o->pareto_points,
                  "Price caps tried for the time/cost front (default 4)");
  sub->add_flag("--p2p-split-tp", o->p2p_split,
                "Stage-to-stage sends split over tensor-parallel ranks at once (Megatron-LM) "
                "rather than slice after slice (DeepSpeed's pipeline engine)");
  sub->add_flag("--hierarchical-allreduce", o->hierarchical,
                "Gradient all-reduce reduced inside each node before crossing the network (rather "
                "than NCCL's ring over all replicas)");
  sub->add_option("--max-mixed-replicas", o->max_mixed,
                  "Most replicas of a stage split over two GPU types (default 4; 0 = none)");
  sub->add_option("--memory-coefficients", o->memory,
                  "Memory model coefficients (default: data/catalog/memory.json)");
  sub->add_flag("--homogeneous-only", o->homogeneous_only, "Only plans on one GPU type");
  sub->add_flag("--json", o->json, "Print JSON (format opal.plan/1)");
  sub->add_option("--svg", o->svg,
                  "Write an SVG: pipeline timeline of the best plan and the time/cost front");
  sub->add_option("--replay", o->replay,
                  "Predict every Sailor-format plan under DIR (repeatable; MODEL.json:PROFILE_DIR:"
                  "DIR replays with that model and profiles) and compare with its measured time "
                  "and memory");
  sub->add_flag("--leave-one-out", o->leave_one_out,
                "With --replay: also predict each run's peak memory with coefficients fitted on "
                "all the other runs");
  sub->add_flag("--calibrate-memory", o->calibrate_memory,
                "With --replay: fit the memory coefficients on the measured peaks and print them "
                "(data/catalog/memory.json)");
  sub->add_flag("--calibrate", o->calibrate, "Fit roofline efficiencies and print efficiency.json");
  sub->add_option("--calibrate-with", o->calibrate_with,
                  "MODEL.json:PROFILE_DIR pairs to calibrate on (repeatable)");
  sub->add_option("--deepbench", o->deepbench, "DeepBench GEMM CSV to calibrate on");
  sub->callback([o, run] { *run = [o] { return Run(*o); }; });
}

}  // namespace opal::cli
