// The store's schema, as an ordered list of migrations. Opening a store runs every migration whose
// version is above the database's (kept in meta.schema_version), each in its own transaction.
// A migration is never edited once released: changes are new migrations appended to the list.
#pragma once

#include <span>

namespace opal::store {

struct Migration {
  int version;
  const char* description;
  const char* sqlite;    // statements separated by ';'
  const char* postgres;  // the same change in PostgreSQL's dialect
};

// All migrations in version order; the last one's version is the current schema version.
std::span<const Migration> Migrations();
int CurrentSchemaVersion();

}  // namespace opal::store
