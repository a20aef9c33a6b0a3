#include "opal/starter_kb.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "opal/cost_model.h"
#include "opal/cost_model_registry.h"
#include "opal/json.h"
#include "opal/log.h"
#include "opal/record_file.h"

namespace opal {
namespace fs = std::filesystem;

namespace {

Result<std::string> ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(ErrorCode::kNotFound, "cannot read {}", path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

Result<std::optional<StarterKb>> FindStarterKb() {
  const char* env = std::getenv("OPAL_KB_DIR");
  const std::string dir = env && *env ? env : OPAL_KB_DIR;
  if (dir == "off" || dir == "none") return std::optional<StarterKb>();
  const std::string manifest = dir + "/MANIFEST.json";
  if (!fs::exists(manifest)) return std::optional<StarterKb>();
  OPAL_ASSIGN_OR_RETURN(std::string text, ReadText(manifest));
  Json m = Json::parse(text, nullptr, false);
  if (m.is_discarded() || !m.is_object() || m.value("format", std::string()) != "opal.kb/1" ||
      !m.contains("version") || !m["version"].is_string()) {
    return Error(ErrorCode::kInvalidArgument,
                 "{}: not a knowledge base manifest (format opal.kb/1 with a version); fix the "
                 "folder or set "
                 "OPAL_KB_DIR=off",
                 manifest);
  }
  StarterKb kb;
  kb.dir = dir;
  kb.version = m["version"].get<std::string>();
  kb.records = dir + "/" + m.value("records", std::string("records.jsonl.gz"));
  const std::string cm = m.value("cost_model", std::string());
  kb.cost_model = cm.empty() ? "" : dir + "/" + cm;
  kb.record_count = m.value("record_count", int64_t{0});
  if (!fs::exists(kb.records)) {
    return Error(ErrorCode::kInvalidArgument, "{} names {}, which is missing", manifest,
                 kb.records);
  }
  return std::optional<StarterKb>(kb);
}

std::string StarterModelName(const StarterKb& kb) { return "starter-" + kb.version; }

std::string DefaultCostModel(const std::string& dsn) {
  if (dsn.rfind("sqlite:", 0) != 0 && dsn.rfind("postgres", 0) != 0) return "";
  auto kb = FindStarterKb();
  if (!kb.ok() || !*kb || (*kb)->cost_model.empty()) return "";
  auto registry = CostModelRegistry::Open(dsn);
  if (!registry.ok()) return "";
  auto present = (*registry)->Get(StarterModelName(**kb));
  return present.ok() && *present ? "@" + StarterModelName(**kb) : "";
}

Result<StarterImport> EnsureStarterKb(RecordStore& store, const std::string& dsn,
                                      const StarterKb& kb) {
  StarterImport r;
  if (dsn.rfind("sqlite:", 0) != 0 && dsn.rfind("postgres", 0) != 0)
    return r;  // no registry to mark it
  OPAL_ASSIGN_OR_RETURN(auto registry, CostModelRegistry::Open(dsn));
  const std::string name = StarterModelName(kb);
  OPAL_ASSIGN_OR_RETURN(auto present, registry->Get(name));
  if (present) return r;

  std::vector<Record> records;
  OPAL_RETURN_IF_ERROR(
      ForEachRecordLine(kb.records, [&](int64_t line, std::string_view text) -> Status {
        auto rec = ParseRecordLine(text);
        if (!rec.ok()) return rec.status().WithContext(fmt::format("{}:{}", kb.records, line));
        records.push_back(std::move(*rec));
        return Status::Ok();
      }));
  RegisteredCostModel m;
  m.name = name;
  if (!kb.cost_model.empty()) {
    OPAL_ASSIGN_OR_RETURN(CostModel model, CostModel::Load(kb.cost_model));
    m.framework = model.info().framework;
    m.feature_version = model.info().feature_version;
    m.meta = {{"framework_version", model.info().framework_version},
              {"rows", model.info().rows},
              {"groups", model.info().groups},
              {"targets", model.info().targets},
              {"objective", model.info().objective},
              {"validation", model.info().validation.value("chosen", Json::object())},
              {"starter_kb", kb.version}};
    OPAL_ASSIGN_OR_RETURN(m.body, model.ToText());
  }
  r.records = static_cast<int64_t>(records.size());
  OPAL_ASSIGN_OR_RETURN(r.added, store.Put(records));  // one transaction: all or nothing
  // Without a shipped model nothing marks the import: it reruns next time, adding nothing.
  if (m.body.empty()) return r;
  OPAL_RETURN_IF_ERROR(registry->Put(m, /*replace=*/true));
  r.imported = true;
  return r;
}

Status ApplyStarterKb(RecordStore& store, const std::string& dsn, bool is_default_store,
                      std::string* cost_model) {
  if (is_default_store) {
    OPAL_ASSIGN_OR_RETURN(auto kb, FindStarterKb());
    if (kb) {
      auto imported = EnsureStarterKb(store, dsn, *kb);
      if (!imported.ok())
        return imported.status().WithContext("importing the starter knowledge base " + kb->dir);
      if (imported->imported) {
        log::Info(
            "imported the starter knowledge base {} into {}: {} records ({} new) and cost model "
            "@{}",
            kb->version, store.Describe(), imported->records, imported->added,
            StarterModelName(*kb));
      }
    }
  }
  if (cost_model && cost_model->empty()) *cost_model = DefaultCostModel(dsn);
  return Status::Ok();
}

}  // namespace opal
