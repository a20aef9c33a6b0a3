// What differs between the two SQL backends, in one place. Every statement of the store, the
// task queue and the cost-model registry is written once: standard SQL, $1..$n placeholders,
// and the upsert both backends share (INSERT ... ON CONFLICT (k) DO NOTHING / DO UPDATE SET
// c = excluded.c, SQLite >= 3.24). The dialect supplies the rest: how a placeholder is spelled,
// the DDL type names, the row-locking clause of the queue and the lock that serializes schema
// migrations between processes.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

namespace opal::store {

// Column types of the schema (schema.cc), named per backend by SqlDialect::TypeName.
enum class SqlType { kId, kInteger, kBigInt, kReal, kText };

struct SqlDialect {
  std::string_view name;  // "sqlite" | "postgresql"
  bool postgres = false;
  // Appended to a SELECT that picks rows to update: PostgreSQL locks the rows and skips those
  // another transaction holds (many dequeuers at once); SQLite needs nothing, its write
  // transaction (BEGIN IMMEDIATE) already excludes every other writer.
  std::string_view skip_locked;
  std::string_view for_update;
  // Run first in a migration's transaction so concurrent openers migrate once ("" for SQLite,
  // where the write transaction is the lock).
  std::string_view migration_lock;
  // Appended to CREATE TABLE of a table stored in the order of its primary key, so that rows
  // read together lie together (SQLite: WITHOUT ROWID; PostgreSQL keeps heap order, "").
  std::string_view clustered;
  // Rows per INSERT statement when many are written: PostgreSQL pays a round trip per statement;
  // SQLite runs one cached single-row statement fastest (a statement with thousands of
  // parameters is parsed anew each time).
  int insert_rows = 1;
  // The aggregate that concatenates text (best_rows bodies: order not needed).
  std::string_view concat_agg;

  // The type name of a column in CREATE TABLE / ALTER TABLE.
  std::string_view TypeName(SqlType t) const;
  // `sql` with its $N placeholders in this backend's spelling (SQLite: ?N). Statements never
  // contain '$' elsewhere: values are always parameters.
  std::string Placeholders(std::string_view sql) const;
};

const SqlDialect& SqliteDialect();
const SqlDialect& PostgresDialect();

// " ON CONFLICT (key_columns) DO NOTHING" without update columns, else "... DO UPDATE SET
// c = excluded.c, ..." -- the upsert, spelled the same by both backends.
std::string OnConflict(std::string_view key_columns,
                       std::initializer_list<std::string_view> update_columns = {});

}  // namespace opal::store
