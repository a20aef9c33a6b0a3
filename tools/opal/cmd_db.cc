// opal db init|stats|best|export|import|compact|prune: the tuning-record store from the command line.
// Every subcommand takes --store DSN (default: $OPAL_STORE, else the SQLite file in the user's
// data directory).
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>

#include "commands.h"
#include "opal/deepbench.h"
#include "opal/plan_catalog.h"
#include "opal/plan_gpu_ops.h"
#include "opal/record_file.h"
#include "opal/record_store.h"
#include "opal/starter_kb.h"
#include "opal/store_compaction.h"
#include "opal/workload.h"

namespace opal::cli {
namespace {

struct DbOptions {
  std::string store;
  bool json = false;
  // best
  std::string workload;
  std::string target;
  int k = 5;
  bool coarse = false;
  // filters (best, export, prune)
  std::string framework;
  std::string framework_version;
  std::string op;
  bool ok_only = false;
  // export / import
  std::string output = "-";
  bool gzip = false;
  std::vector<std::string> inputs;
  bool starter = false;
  bool deepbench = false;     // import: the inputs are DeepBench CSV files or directories
  std::string targets;        // import --deepbench: GPU target map (targets.json)
  // prune
  int keep = 10;
  // compact
  std::vector<std::string> archive_versions;
  std::string archive;
  bool merge_duplicates = false;
};

Result<std::unique_ptr<RecordStore>> OpenStore(const DbOptions& o) {
  return RecordStore::Open(StoreDsn(o.store));
}

Status Init(const DbOptions& o) {
  OPAL_ASSIGN_OR_RETURN(auto store, OpenStore(o));
  OPAL_ASSIGN_OR_RETURN(int version, store->SchemaVersion());
  OPAL_ASSIGN_OR_RETURN(int64_t n, store->Count({}));
  fmt::print("store {} ready: schema version {}, {} records\n", store->Describe(), version, n);
  return Status::Ok();
}

Status Stats(const DbOptions& o) {
  OPAL_ASSIGN_OR_RETURN(auto store, OpenStore(o));
  OPAL_ASSIGN_OR_RETURN(auto rows, store->Summarize());
  if (o.json) {
    Json j = {{"store", store->Describe()}, {"rows", Json::array()}};
    for (const auto& r : rows)
      j["rows"].push_back({{"target", r.target_key}, {"op", r.op}, {"records", r.records},
                           {"ok_records", r.ok_records}, {"workloads", r.workloads}, {"best_gflops", r.best_gflops}});
    fmt::print("{}\n", j.dump(2));
    return Status::Ok();
  }
  fmt::print("store {}\n\n{:<40} {:<13} {:>9} {:>9} {:>9} {:>12}\n", store->Describe(), "target", "op", "records",
             "valid", "workloads", "best GFLOP/s");
  int64_t total = 0;
  for (const auto& r : rows) {
    fmt::print("{:<40} {:<13} {:>9} {:>9} {:>9} {:>12.1f}\n", r.target_key, r.op, r.records, r.ok_records,
               r.workloads, r.best_gflops);
    total += r.records;
  }
  fmt::print("\n{} records\n", total);
  return Status::Ok();
}

Status Best(const DbOptions& o) {
  std::string key = o.workload;
  if (!key.empty() && key.front() == '{') {
    Json j = Json::parse(key, nullptr, false);
    if (j.is_discarded()) return Error(ErrorCode::kInvalidArgument, "workload: not valid JSON: {}", key);
    OPAL_ASSIGN_OR_RETURN(Workload w, Workload::FromJson(j));
    key = w.Key();
  }
  // --target takes a target string (or "host") or a target key as `opal db stats` shows it.
  std::string exact, coarse;
  if (!o.target.empty() && o.target != "host" && o.target.find_first_of("= ") == std::string::npos) {
    exact = o.target;
    coarse = exact.substr(0, exact.rfind('-'));
  } else {
    OPAL_ASSIGN_OR_RETURN(Target target, ResolveTarget(o.target));
    exact = target.ExactKey();
    coarse = target.CoarseKey();
  }
  OPAL_ASSIGN_OR_RETURN(auto store, OpenStore(o));
  OPAL_ASSIGN_OR_RETURN(auto top, store->TopK({.workload_key = key,
                                               .target_key = exact,
                                               .target_coarse_key = coarse,
                                               .framework = o.framework,
                                               .framework_version = o.framework_version,
                                               .k = o.k,
                                               .coarse_fallback = o.coarse}));
  if (o.json) {
    Json j = Json::array();
    for (const auto& r : top) j.push_back(r.ToJson());
    fmt::print("{}\n", j.dump(2));
    return Status::Ok();
  }
  if (top.empty()) {
    return Error(ErrorCode::kNotFound, "no valid record for {} on {}{}", key, exact,
                 o.coarse ? " or its coarse key " + coarse : " (try --coarse)");
  }
  fmt::print("{:>3} {:>12} {:>10} {:<16} {:<32} {}\n", "#", "median ms", "GFLOP/s", "framework", "target", "config");
  for (size_t i = 0; i < top.size(); ++i) {
    const Record& r = top[i];
    fmt::print("{:>3} {:>12.4f} {:>10.1f} {:<16} {:<32} {}\n", i + 1, r.median_s * 1e3, r.gflops,
               r.framework + " " + r.framework_version, r.target_key, r.config_json);
  }
  return Status::Ok();
}

Status Export(const DbOptions& o) {
  OPAL_ASSIGN_OR_RETURN(auto store, OpenStore(o));
  OPAL_ASSIGN_OR_RETURN(auto out, RecordFileWriter::Create(o.output, o.gzip));
  int64_t n = 0;
  Status written = Status::Ok();
  OPAL_RETURN_IF_ERROR(store->Scan({.target_key = o.target, .op = o.op, .framework = o.framework,
                                    .framework_version = o.framework_version, .ok_only = o.ok_only},
                                   [&](const Record& r) {
                                     written = out->Write(r);
                                     n += written.ok();
                                     return written.ok();
                                   }));
  OPAL_RETURN_IF_ERROR(written);
  OPAL_RETURN_IF_ERROR(out->Close());
  std::fprintf(stderr, "opal: exported %lld records from %s%s\n", static_cast<long long>(n), store->Describe().c_str(),
               o.gzip ? " (gzip)" : "");
  return Status::Ok();
}

Result<int64_t> PutInBatches(RecordStore& store, const std::vector<Record>& records) {
  int64_t added = 0;
  for (size_t i = 0; i < records.size(); i += RecordStore::kImportBatch) {
    const size_t end = std::min(records.size(), i + RecordStore::kImportBatch);
    std::vector<Record> batch(records.begin() + static_cast<std::ptrdiff_t>(i),
                              records.begin() + static_cast<std::ptrdiff_t>(end));
    OPAL_ASSIGN_OR_RETURN(int64_t n, store.Put(batch));
    added += n;
  }
  return added;
}

// DeepBench CSVs: every file is read and every row turned into a record before anything is
// written, so a bad file imports nothing.
Status ImportDeepBench(const DbOptions& o) {
  if (o.inputs.empty()) return Error(ErrorCode::kInvalidArgument, "import --deepbench: give the CSV files or folders");
  const std::string targets_path = o.targets.empty() ? plan::DefaultCatalogDir() + "/targets.json" : o.targets;
  OPAL_ASSIGN_OR_RETURN(auto targets, plan::LoadGpuTargets(targets_path));
  OPAL_ASSIGN_OR_RETURN(auto aliases, plan::LoadGpuAliases(targets_path));
  OPAL_ASSIGN_OR_RETURN(DeepBenchData data, ReadDeepBench(o.inputs));
  OPAL_ASSIGN_OR_RETURN(DeepBenchRecords made, MakeDeepBenchRecords(data, plan::WithAliases(targets, aliases)));
  OPAL_ASSIGN_OR_RETURN(auto store, OpenStore(o));
  OPAL_ASSIGN_OR_RETURN(int64_t added, PutInBatches(*store, made.records));
  const int64_t n = static_cast<int64_t>(made.records.size());
  fmt::print("imported {} DeepBench records ({} GEMMs as dense, {} convolutions as conv2d forward) into {}: "
             "{} new, {} already present; {} convolution backward-pass times left out (no workload kind)\n",
             n, made.gemms, made.convs, store->Describe(), added, n - added, made.conv_backward_left_out);
  return Status::Ok();
}

// Validates every line of every file first, so a bad file imports nothing; then inserts in
// batches (each batch one transaction; records already present are skipped by uid). Files may
// be gzip-compressed (archives written by `opal db compact`).
Status Import(const DbOptions& o) {
  if (o.deepbench) return ImportDeepBench(o);
  OPAL_ASSIGN_OR_RETURN(auto store, OpenStore(o));
  if (o.starter) {
    if (!o.inputs.empty()) return Error(ErrorCode::kInvalidArgument, "import: give files or --starter, not both");
    OPAL_ASSIGN_OR_RETURN(auto kb, FindStarterKb());
    if (!kb) return Error(ErrorCode::kNotFound, "import --starter: no starter knowledge base (data/kb, or OPAL_KB_DIR)");
    OPAL_ASSIGN_OR_RETURN(StarterImport r, EnsureStarterKb(*store, StoreDsn(o.store), *kb));
    if (!r.imported) {
      fmt::print("{} already holds the starter knowledge base {} (cost model @{})\n", store->Describe(), kb->version,
                 StarterModelName(*kb));
    } else {
      fmt::print("imported the starter knowledge base {} into {}: {} records ({} new), cost model @{}\n", kb->version,
                 store->Describe(), r.records, r.added, StarterModelName(*kb));
    }
    return Status::Ok();
  }
  if (o.inputs.empty()) return Error(ErrorCode::kInvalidArgument, "import: give the files to import, or --starter");
  int64_t added = 0, seen = 0;
  std::vector<Record> batch;
  auto flush = [&]() -> Status {
    if (batch.empty()) return Status::Ok();
    OPAL_ASSIGN_OR_RETURN(int64_t n, store->Put(batch));
    added += n;
    batch.clear();
    return Status::Ok();
  };
  for (int pass = 0; pass < 2; ++pass) {
    for (const auto& path : o.inputs) {
      if (std::filesystem::is_directory(path))
        return Error(ErrorCode::kInvalidArgument, "{} is a directory (DeepBench results? add --deepbench)", path);
      OPAL_RETURN_IF_ERROR(ForEachRecordLine(path, [&](int64_t lineno, std::string_view line) -> Status {
        auto r = ParseRecordLine(line);
        if (!r.ok()) return r.status().WithContext(fmt::format("{}:{}", path, lineno));
        if (pass == 0) return Status::Ok();
        ++seen;
        batch.push_back(std::move(*r));
        return batch.size() == RecordStore::kImportBatch ? flush() : Status::Ok();
      }));
      OPAL_RETURN_IF_ERROR(flush());
    }
  }
  fmt::print("imported {} records into {}: {} new, {} already present\n", seen, store->Describe(), added,
             seen - added);
  return Status::Ok();
}

Status Compact(const DbOptions& o) {
  OPAL_ASSIGN_OR_RETURN(auto store, OpenStore(o));
  CompactOptions c{.framework = o.framework, .archive_versions = o.archive_versions, .archive_path = o.archive,
                   .merge_duplicates = o.merge_duplicates};
  if (c.archive_versions.empty() && !c.merge_duplicates) {
    return Error(ErrorCode::kInvalidArgument, "compact: give --archive-version V (with --framework and --archive) "
                                              "and/or --merge-duplicates");
  }
  OPAL_ASSIGN_OR_RETURN(CompactReport r, CompactStore(*store, c));
  fmt::print("compacted {}: {} records before, {} archived{}, {} removed by merging duplicates, {} after\n",
             store->Describe(), r.records_before, r.archived, r.archived ? " to " + c.archive_path : "",
             r.merged_away, r.records_after);
  return Status::Ok();
}

Status Prune(const DbOptions& o) {
  if (o.framework.empty() || o.framework_version.empty()) {
    return Error(ErrorCode::kInvalidArgument, "prune needs --framework and --framework-version: it only "
                                              "ever touches the records of one framework version");
  }
  OPAL_ASSIGN_OR_RETURN(auto store, OpenStore(o));
  OPAL_ASSIGN_OR_RETURN(int64_t n, store->Prune(o.framework, o.framework_version, o.keep));
  fmt::print("pruned {} records of {} {} from {} (kept the {} best per workload and target)\n", n, o.framework,
             o.framework_version, store->Describe(), o.keep);
  return Status::Ok();
}

}  // namespace

void AddDbCommand(CLI::App& app, CommandFn* run) {
  auto o = std::make_shared<DbOptions>();
  CLI::App* db = app.add_subcommand("db", "Manage the tuning-record store (SQLite or PostgreSQL)");
  db->require_subcommand(1);
  auto add = [&](const char* name, const char* help, Status (*fn)(const DbOptions&)) {
    CLI::App* c = db->add_subcommand(name, help);
    c->add_option("--store", o->store, "Store DSN: sqlite:PATH | postgresql://USER@HOST:PORT/DB (default $OPAL_STORE "
                                       "or sqlite:~/.local/share/opal/records.db)");
    c->callback([run, o, fn] { *run = [o, fn] { return fn(*o); }; });
    return c;
  };
  add("init", "Create the store (or migrate it to this opal's schema) and show its version", Init);
  add("stats", "Records, valid records, workloads and best GFLOP/s per target and op", Stats)
      ->add_flag("--json", o->json, "Machine-readable output");
  CLI::App* best = add("best", "The fastest valid records for one workload on a target", Best);
  best->add_option("workload", o->workload, "Workload key (conv2d-...) or workload JSON")->required();
  best->add_option("--target", o->target, "Target string or target key; default: this host");
  best->add_option("-k", o->k, "How many records")->check(CLI::PositiveNumber);
  best->add_flag("--coarse", o->coarse, "Fill up from targets with the same coarse key (kind + ISA family)");
  best->add_option("--framework", o->framework, "Only this tuning framework");
  best->add_option("--framework-version", o->framework_version, "Only versions with this major version");
  best->add_flag("--json", o->json, "Records as JSON");
  CLI::App* exp = add("export", "Write records as JSON lines (opal.record/1)", Export);
  exp->add_option("-o,--output", o->output, "Output file ('-' = stdout)");
  exp->add_option("--target", o->target, "Only this exact target key");
  exp->add_option("--op", o->op, "Only this op (conv2d, dense, batch_matmul)");
  exp->add_option("--framework", o->framework, "Only this framework");
  exp->add_option("--framework-version", o->framework_version, "Only this exact framework version");
  exp->add_flag("--ok-only", o->ok_only, "Only valid trials");
  exp->add_flag("--gzip", o->gzip, "Compress the output with gzip (`opal db import` reads it as it is)");
  CLI::App* imp = add("import", "Add records from JSON-lines files; records already present are skipped", Import);
  imp->add_option("files", o->inputs, "Files written by `opal db export` or `opal db compact`, plain or gzip; "
                                      "with --deepbench, DeepBench CSV files or directories holding gemm.csv / conv.csv")
      ->check(CLI::ExistingPath);
  imp->add_flag("--deepbench", o->deepbench, "The files are DeepBench training results (GEMMs timed with cuBLAS, "
                                             "convolutions with cuDNN): records of their GPUs' targets");
  imp->add_option("--targets", o->targets, "With --deepbench: GPU target map and aliases (default: "
                                           "data/catalog/targets.json)");
  imp->add_flag("--starter", o->starter,
                "Import the starter knowledge base shipped with opal (records and cost model; docs/knowledge_base.md)");
  CLI::App* compact = add("compact", "Archive the trials of old framework versions to a gzip file and/or merge "
                                     "duplicate measurements of one config", Compact);
  compact->add_option("--framework", o->framework, "Framework whose versions are archived");
  compact->add_option("--archive-version", o->archive_versions, "Exact framework version to archive (repeatable)");
  compact->add_option("--archive", o->archive, "Archive file (gzip JSON lines; `opal db import` reads it back)");
  compact->add_flag("--merge-duplicates", o->merge_duplicates,
                    "Merge valid records of one config into one record with all their times");
  CLI::App* prune = add("prune", "Keep the N best valid records per workload and target of one framework "
                                 "version; other versions are never touched", Prune);
  prune->add_option("--framework", o->framework, "Framework whose records to prune")->required();
  prune->add_option("--framework-version", o->framework_version, "Exact version to prune")->required();
  prune->add_option("--keep", o->keep, "Records to keep per workload and target")->check(CLI::NonNegativeNumber);
}

}  // namespace opal::cli
