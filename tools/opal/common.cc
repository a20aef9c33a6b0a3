#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "commands.h"
#include "opal/log.h"
#include "opal/record_store.h"
#include "opal/starter_kb.h"

namespace opal::cli {

ProgressStyle CliProgressStyle(bool json) {
  if (json) return ProgressStyle::kJson;
  return log::GetLevel() >= log::Level::kWarn ? ProgressStyle::kQuiet : ProgressStyle::kAuto;
}

std::string StoreDsn(const std::string& flag) {
  return flag.empty() ? RecordStore::DefaultDsn() : flag;
}

Result<std::unique_ptr<RecordStore>> OpenExistingStore(const std::string& dsn) {
  if (dsn.rfind("sqlite:", 0) == 0 && !std::filesystem::exists(dsn.substr(7))) {
    return Error(
        ErrorCode::kNotFound,
        "--store: no record store at '{}'; give an existing one (opal db init creates one)",
        dsn.substr(7));
  }
  return RecordStore::Open(dsn);
}

Status UseStarterKb(const std::string& store_flag, RecordStore& store, std::string* cost_model) {
  return ApplyStarterKb(store, StoreDsn(store_flag), store_flag.empty(), cost_model);
}

Result<Target> ResolveTarget(const std::string& spec) {
  if (spec.empty() || spec == "host") return Target::DetectHost();
  auto t = Target::Parse(spec);
  if (!t.ok()) return t.status().WithContext("--target");
  return t;
}

Result<std::map<std::string, Shape>> ParseInputShapes(const std::vector<std::string>& specs) {
  std::map<std::string, Shape> out;
  for (const auto& s : specs) {
    size_t eq = s.rfind('=');
    if (eq == std::string::npos || eq == 0) {
      return Error(ErrorCode::kInvalidArgument,
                   "--input-shape '{}': expected NAME=DIMS, e.g. input=1x3x224x224", s);
    }
    auto shape = ParseShape(s.substr(eq + 1));
    if (!shape.ok()) return shape.status().WithContext("--input-shape " + s.substr(0, eq));
    out[s.substr(0, eq)] = *shape;
  }
  return out;
}

std::string HumanCount(double v) {
  const char* suffix[] = {"", " K", " M", " G", " T", " P"};
  int i = 0;
  while (v >= 1000 && i < 5) {
    v /= 1000;
    ++i;
  }
  return i == 0 ? fmt::format("{:.0f}", v) : fmt::format("{:.2f}{}", v, suffix[i]);
}

Result<Workload> ResolveWorkload(const std::string& spec, RecordStore& store) {
  if (!spec.empty() && spec.front() == '{') {
    Json j = Json::parse(spec, nullptr, false);
    if (j.is_discarded()) return Error(ErrorCode::kInvalidArgument, "--workload: not valid JSON");
    auto w = Workload::FromJson(j);
    if (!w.ok()) return w.status().WithContext("--workload");
    return w;
  }
  RecordFilter f;
  f.workload_key = spec;
  std::string json;
  OPAL_RETURN_IF_ERROR(store.Scan(f, [&](const Record& r) {
    json = r.workload_json;
    return false;
  }));
  if (json.empty()) {
    return Error(ErrorCode::kNotFound,
                 "--workload {}: no record with this key in {}; pass the workload as JSON", spec,
                 store.Describe());
  }
  return Workload::FromJson(Json::parse(json));
}

Result<TaskList> ReadWorkloadList(const std::string& path, const std::string& flag) {
  std::ifstream in(path);
  if (!in) return Error(ErrorCode::kNotFound, "{} {}: cannot read the file", flag, path);
  TaskList tl;
  std::set<std::string> seen;
  std::string line;
  for (int no = 1; std::getline(in, line); ++no) {
    if (line.empty() || line[0] == '#') continue;
    Json j = Json::parse(line, nullptr, false);
    if (j.is_discarded())
      return Error(ErrorCode::kInvalidArgument, "{} {}:{}: not valid JSON", flag, path, no);
    auto w = Workload::FromJson(j);
    if (!w.ok()) return w.status().WithContext(fmt::format("{} {}:{}", flag, path, no));
    if (!seen.insert(w->Key()).second) continue;
    Task t;
    t.workload = *w;
    t.count = 1;
    t.flops = t.total_flops = w->Flops();
    tl.tasks.push_back(t);
  }
  if (tl.tasks.empty())
    return Error(ErrorCode::kInvalidArgument, "{} {}: no workload in the file", flag, path);
  for (Task& t : tl.tasks) t.share = 1.0 / static_cast<double>(tl.tasks.size());  // equal budgets
  return tl;
}

}  // namespace opal::cli
