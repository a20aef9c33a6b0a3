// RecordStore on one SQLite file: WAL journal, a busy timeout and retried write transactions, so
// several processes may write the same file without "database is locked" reaching the user.
#pragma once

#include <memory>
#include <string>

#include "opal/record_store.h"

namespace opal::store {

// Opens or creates the file (and its directory) and migrates the schema to the current version,
// or only up to `max_version` when > 0 (tests use this to make an old-version store).
Result<std::unique_ptr<RecordStore>> OpenSqliteStore(const std::string& path, int max_version = 0);

}  // namespace opal::store
