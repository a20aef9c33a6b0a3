#include "store/sql_dialect.h"

#include <cctype>

namespace opal::store {

std::string_view SqlDialect::TypeName(SqlType t) const {
  switch (t) {
    // SQLite: only "INTEGER PRIMARY KEY" makes the column the rowid; every integer is 64-bit.
    case SqlType::kId:
      return postgres ? "BIGSERIAL PRIMARY KEY" : "INTEGER PRIMARY KEY";
    case SqlType::kInteger:
      return "INTEGER";
    case SqlType::kBigInt:
      return postgres ? "BIGINT" : "INTEGER";
    case SqlType::kReal:
      return postgres ? "DOUBLE PRECISION" : "REAL";
    case SqlType::kText:
      return "TEXT";
  }
  return "TEXT";
}

std::string SqlDialect::Placeholders(std::string_view sql) const {
  if (postgres) return std::string(sql);
  std::string out(sql);
  for (size_t i = 0; i + 1 < out.size(); ++i)
    if (out[i] == '$' && std::isdigit(static_cast<unsigned char>(out[i + 1]))) out[i] = '?';
  return out;
}

const SqlDialect& SqliteDialect() {
  static const SqlDialect d{.name = "sqlite",
                            .postgres = false,
                            .skip_locked = "",
                            .for_update = "",
                            .migration_lock = ""};
  return d;
}

const SqlDialect& PostgresDialect() {
  static const SqlDialect d{.name = "postgresql",
                            .postgres = true,
                            .skip_locked = " FOR UPDATE SKIP LOCKED",
                            .for_update = " FOR UPDATE",
                            .migration_lock = "SELECT pg_advisory_xact_lock(7170616)"};
  return d;
}

std::string OnConflict(std::string_view key_columns,
                       std::initializer_list<std::string_view> update_columns) {
  std::string out = " ON CONFLICT (" + std::string(key_columns) + ") DO ";
  if (update_columns.size() == 0) return out + "NOTHING";
  out += "UPDATE SET ";
  bool first = true;
  for (std::string_view c : update_columns) {
    out += (first ? "" : ", ") + std::string(c) + " = excluded." + std::string(c);
    first = false;
  }
  return out;
}

}  // namespace opal::store
