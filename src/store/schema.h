// The store's schema: one list of tables, columns and indexes, each tagged with the schema version
// that introduced it, from which the DDL of both backends is generated (SqlDialect names the
// types). Version N's migration creates the tables of version N, adds the columns of version N to
// older tables, creates the indexes of version N and runs its data steps. The version of a
// database is meta.schema_version. A released entry is never edited: changes are new entries
// with a new version.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "opal/status.h"
#include "store/sql_dialect.h"

namespace opal::store {

class SqlSession;

struct Migration {
  int version;
  const char* description;
};

// All versions in order; the last one is the current schema version.
std::span<const Migration> Migrations();
int CurrentSchemaVersion();

// The DDL statements of one version's migration for a dialect (without its data steps).
std::vector<std::string> MigrationDdl(int version, const SqlDialect& d);

// Brings the database to `max_version` (0 = current), each version in its own transaction that
// first takes the dialect's migration lock and re-reads the version, so processes opening one
// store together migrate it once. kFailed when the database is newer than this opal.
Status Migrate(SqlSession& db, int max_version = 0);

// meta.schema_version (0 for an empty database).
Result<int> ReadSchemaVersion(SqlSession& db);

}  // namespace opal::store
