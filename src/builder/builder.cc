// BuildModel: import -> passes -> schedules -> lowering -> AOT compile -> memory plan -> link.
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "builder/aot_compile.h"
#include "builder/link.h"
#include "builder/model_import.h"
#include "builder/lowered_model.h"
#include "opal/build.h"
#include "opal/log.h"
#include "passes/passes.h"

namespace opal {
namespace fs = std::filesystem;

const char* ScheduleSourceName(ScheduleSource s) {
  switch (s) {
    case ScheduleSource::kExact: return "exact";
    case ScheduleSource::kCoarse: return "coarse";
    case ScheduleSource::kTransferred: return "transferred";
    case ScheduleSource::kZeroShot: return "zero-shot";
    case ScheduleSource::kDefault: return "default";
    default: return "-";
  }
}

namespace build {
namespace {

using Clock = std::chrono::steady_clock;
double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// DIR/weights.bin, DIR/src/program.cc and DIR/libmodel.so linked from them and the objects.
Status WriteModelFiles(const std::string& dir, const std::string& weights, const ProgramSpec& spec,
                       std::vector<std::string> objects, const std::string& runtime_obj) {
  {
    std::ofstream w(dir + "/weights.bin", std::ios::binary | std::ios::trunc);
    w.write(weights.data(), static_cast<std::streamsize>(weights.size()));
    if (!w) return Error(ErrorCode::kIo, "cannot write {}/weights.bin", dir);
  }
  const std::string program = dir + "/src/program.cc";
  std::ofstream(program, std::ios::trunc) << GenerateProgramSource(spec);
  objects.push_back(runtime_obj);
  return LinkModelLibrary(program, objects, dir + "/libmodel.so");
}

}  // namespace
}  // namespace build

Result<BuildReport> BuildModel(const BuildOptions& o) {
  using namespace build;
  const auto t0 = Clock::now();
  BuildReport rep;
  const Target target = Target::DetectHost();
  rep.target = target.CanonicalString();

  // 1. Import, with opal's shape inference and constant folding.
  auto t = Clock::now();
  OPAL_ASSIGN_OR_RETURN(ImportedModel im, ImportForBuild(o.model_path, o.input_shapes, o.runtime_inputs));
  Graph& g = im.graph;
  rep.model = g.name.empty() ? fs::path(o.model_path).parent_path().filename().string() : g.name;
  rep.random_weights = im.random_weights;
  rep.phase_s["import"] = Since(t);

  // 2. Graph passes.
  t = Clock::now();
  OPAL_RETURN_IF_ERROR(passes::RunBuildPasses(g).status());
  rep.phase_s["passes"] = Since(t);

  // 3. A schedule for every tunable node, and a Halide kernel for every node.
  t = Clock::now();
  std::unique_ptr<CostModel> model;
  if (!o.cost_model.empty()) {
    OPAL_ASSIGN_OR_RETURN(CostModel m, LoadCostModel(o.cost_model, o.store_dsn));
    model = std::make_unique<CostModel>(std::move(m));
  }
  ScheduleChooser chooser(o.store, target, model.get(), o.zero_shot_samples, o.zero_shot_measure, o.retime_top);
  OPAL_ASSIGN_OR_RETURN(LoweredModel lm, ChooseAndLower(g, chooser, target, o.model_path, &rep));
  rep.phase_s["choose+lower"] = Since(t);

  // 4. The program, and where every tensor lives.
  std::vector<CompileJob> jobs;
  std::map<ValueId, int32_t> tensor_of;
  ProgramSpec spec = AssembleProgram(g, lm, &jobs, &tensor_of);
  rep.kernels = static_cast<int>(spec.kernels.size());
  const std::string weights = PlaceTensors(g, lm, tensor_of, &spec, &rep);
  spec.description = fmt::format("{} | {} | {} kernels", rep.model, target.ExactKey(), spec.kernels.size());

  // 5. Compile the kernels ahead of time (in parallel, cached), write the weights and link.
  t = Clock::now();
  std::error_code ec;
  fs::create_directories(o.out_dir + "/src", ec);
  if (ec) return Error(ErrorCode::kIo, "cannot create {}: {}", o.out_dir, ec.message());
  CompileOptions co;
  co.obj_dir = o.out_dir + "/src";
  co.cache_dir = o.cache_dir == "off" ? "" : (o.cache_dir.empty() ? DefaultKernelCacheDir() : o.cache_dir);
  co.jobs = o.jobs > 0 ? o.jobs : std::max(1, target.cores);
  OPAL_ASSIGN_OR_RETURN(CompileOutcome compiled, CompileKernels(jobs, co));
  OPAL_ASSIGN_OR_RETURN(std::string runtime_obj, CompileHalideRuntime(co));
  rep.kernels_cached = compiled.cached;
  rep.phase_s["compile"] = Since(t);

  t = Clock::now();
  OPAL_RETURN_IF_ERROR(WriteModelFiles(o.out_dir, weights, spec, compiled.objects, runtime_obj));
  rep.phase_s["link"] = Since(t);
  rep.total_s = Since(t0);
  std::ofstream(o.out_dir + "/manifest.json", std::ios::trunc) << rep.ToJson().dump(2) << "\n";
  return rep;
}

}  // namespace opal
