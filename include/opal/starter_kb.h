// The starter knowledge base that ships with opal (data/kb, docs/knowledge_base.md): the records
// of a tuning campaign over a corpus of workloads (every task of the reference models, common CNN
// and transformer shapes) and a cost model trained on them. The user's default store gets it on
// first use, so a new user's first build already knows what the campaign measured: on a machine
// of the kind it was measured on through the coarse target key, elsewhere through the nearest
// workloads' configs measured here (docs/build.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "opal/record_store.h"
#include "opal/status.h"

namespace opal {

struct StarterKb {
  std::string dir;         // where it was found
  std::string version;     // MANIFEST.json "version": a new campaign gets a new version
  std::string records;     // the record file (opal.record/1 JSON lines, gzip)
  std::string cost_model;  // the cost model file (opal costmodel train); "" when the KB has none
  int64_t record_count = 0;
};

// The shipped knowledge base: the folder $OPAL_KB_DIR names when set ("off" or "none": no
// knowledge base), else the source tree's data/kb. nullopt when there is none. kInvalidArgument
// when the folder exists but its MANIFEST.json is not a knowledge base's manifest, or names a
// record file that is missing.
Result<std::optional<StarterKb>> FindStarterKb();

// The name the knowledge base's cost model is registered under in a store: "starter-<version>".
// Being registered also marks the import as complete (it is registered last).
std::string StarterModelName(const StarterKb& kb);

// The cost model a build uses when none is named: "@starter-<version>" when the store `dsn` has
// the shipped knowledge base's model registered, else "". Never an error: a store without a
// registry (memory:) or without the knowledge base simply has no default.
std::string DefaultCostModel(const std::string& dsn);

struct StarterImport {
  bool imported = false;  // false: a previous import had completed (or the store is memory:)
  int64_t records = 0;    // records read from the knowledge base
  int64_t added = 0;      // of which were new to the store
};

// Imports `kb` into `store` (opened from `dsn`) unless a previous import completed: every record
// (records the store already holds are skipped by uid, so an interrupted import resumes), then
// the cost model under StarterModelName. A damaged record file imports nothing (every line is
// parsed before the first insert). Records of another framework version are stored as data and
// never applied by builds (they read only the current version). Errors: the file's (kNotFound,
// kIo, kInvalidArgument with file:line), the store's.
Result<StarterImport> EnsureStarterKb(RecordStore& store, const std::string& dsn,
                                      const StarterKb& kb);

// What build, deliver and tune do with the knowledge base (the CLI and the Python package alike):
// when `is_default_store` (no store named: $OPAL_STORE or the user's SQLite file), EnsureStarterKb
// on `store` (an info line when it imports); then, when `cost_model` is non-null and empty, set it
// to DefaultCostModel(dsn). Errors: FindStarterKb's and EnsureStarterKb's, with context.
Status ApplyStarterKb(RecordStore& store, const std::string& dsn, bool is_default_store,
                      std::string* cost_model);

}  // namespace opal
