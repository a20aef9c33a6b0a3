// Keeping a store's growth under control without throwing data away. Records are the cost
// model's data, so nothing is deleted by default; compaction, when asked for:
//  - archives the trials of old framework versions: they are written to a gzip JSON-lines file
//    (opal.record/1, readable by `opal db import`), and deleted from the store only once the file
//    is complete and holds exactly the records the store has of those versions;
//  - merges duplicate measurements of one config into one record with all their times
//    (RecordStore::MergeDuplicates).
// Compaction must not run while workers of the archived versions still write to the store.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "opal/record_store.h"
#include "opal/status.h"

namespace opal {

struct CompactOptions {
  std::string framework;                      // the framework whose versions are archived
  std::vector<std::string> archive_versions;  // exact framework versions to archive
  std::string archive_path;                   // gzip JSON lines; required with archive_versions
  bool merge_duplicates = false;
};

struct CompactReport {
  int64_t records_before = 0;
  int64_t archived = 0;     // written to the archive and deleted from the store
  int64_t merged_away = 0;  // records removed by merging duplicates
  int64_t records_after = 0;
};

// kInvalidArgument for inconsistent options; kIo when the archive cannot be written (nothing is
// deleted then); kFailed when the store changed under the archive (nothing is deleted either).
Result<CompactReport> CompactStore(RecordStore& store, const CompactOptions& options);

}  // namespace opal
