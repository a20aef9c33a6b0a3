// libFuzzer target for the planner's input files: the first byte picks the reader -- catalog,
// cluster, per-GPU profile, Sailor plan, transformer config -- and the rest is the file. Any
// bytes must give a value or a Status, never a crash, a hang or a sanitizer report. Built by
// scripts/fuzz.sh (clang, -DOPAL_FUZZ=ON).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

#include "opal/log.h"
#include "opal/plan_catalog.h"
#include "opal/plan_model.h"
#include "opal/plan_perf.h"
#include "opal/plan_sim.h"

namespace {

// A scratch directory of this process, on tmpfs when there is one.
const std::filesystem::path& Scratch() {
  static const std::filesystem::path dir = [] {
    const std::filesystem::path base = std::filesystem::exists("/dev/shm") ? "/dev/shm" : "/tmp";
    auto d = base / ("opal_plan_fuzz_" + std::to_string(getpid()));
    std::filesystem::create_directories(d / "profiles" / "A100-80");
    return d;
  }();
  return dir;
}

void WriteFile(const std::filesystem::path& path, const uint8_t* data, size_t size) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace plan = opal::plan;
  static plan::Catalog* catalog = [] {
    opal::log::SetLevel(opal::log::Level::kOff);
    auto c = plan::LoadCatalog(plan::DefaultCatalogDir() + "/gpus.json");
    return new plan::Catalog(c.ok() ? *c : plan::Catalog{});
  }();
  if (size == 0) return 0;
  const uint8_t which = data[0] % 5;
  ++data;
  --size;
  const auto& dir = Scratch();
  if (which == 0) {
    WriteFile(dir / "catalog.json", data, size);
    (void)plan::LoadCatalog((dir / "catalog.json").string());
  } else if (which == 1) {
    WriteFile(dir / "cluster.json", data, size);
    plan::Catalog copy = *catalog;
    (void)plan::LoadCluster((dir / "cluster.json").string(), &copy);
  } else if (which == 2) {
    WriteFile(dir / "profiles" / "A100-80" / "profile.json", data, size);
    (void)plan::ProfileSource::Load((dir / "profiles").string(), 0);
  } else if (which == 3) {
    plan::Catalog copy = *catalog;
    auto cluster = plan::ClusterFromJson(
        opal::Json::parse(R"({"available": [{"gpu": "A100-80", "count": 8}]})"), &copy, "fuzz");
    if (cluster.ok()) {
      WriteFile(dir / "plan.json", data, size);
      (void)plan::LoadSailorPlan((dir / "plan.json").string(), &*cluster);
    }
  } else {
    WriteFile(dir / "model.json", data, size);
    (void)plan::LoadTransformerConfig((dir / "model.json").string());
  }
  return 0;
}
