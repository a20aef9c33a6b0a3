#include "opal/record_file.h"
#include "opal/store_compaction.h"

namespace opal {

Result<CompactReport> CompactStore(RecordStore& store, const CompactOptions& o) {
  if (!o.archive_versions.empty() && (o.framework.empty() || o.archive_path.empty())) {
    return Error(ErrorCode::kInvalidArgument,
                 "archiving framework versions needs the framework (--framework) and an archive "
                 "file (--archive)");
  }
  CompactReport report;
  OPAL_ASSIGN_OR_RETURN(report.records_before, store.Count({}));
  if (!o.archive_versions.empty()) {
    OPAL_ASSIGN_OR_RETURN(auto file, RecordFileWriter::Create(o.archive_path, /*gzip=*/true));
    int64_t expected = 0;
    for (const std::string& v : o.archive_versions) {
      const RecordFilter f{.framework = o.framework, .framework_version = v};
      OPAL_ASSIGN_OR_RETURN(int64_t n, store.Count(f));
      expected += n;
      Status written = Status::Ok();
      OPAL_RETURN_IF_ERROR(store.Scan(f, [&](const Record& r) {
        written = file->Write(r);
        report.archived += written.ok();
        return written.ok();
      }));
      OPAL_RETURN_IF_ERROR(written);
    }
    OPAL_RETURN_IF_ERROR(file->Close());
    if (report.archived != expected) {
      return Error(ErrorCode::kFailed,
                   "the store changed while {} was written ({} records archived, {} expected); "
                   "nothing was deleted, run the compaction again",
                   o.archive_path, report.archived, expected);
    }
    for (const std::string& v : o.archive_versions) {
      OPAL_RETURN_IF_ERROR(
          store.Delete({.framework = o.framework, .framework_version = v}).status());
    }
  }
  if (o.merge_duplicates) {
    OPAL_ASSIGN_OR_RETURN(report.merged_away, store.MergeDuplicates());
  }
  OPAL_ASSIGN_OR_RETURN(report.records_after, store.Count({}));
  return report;
}

}  // namespace opal
