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
  // SQLite: "?N". When the placeholders appear once each in order ($1, $2, ... as a multi-row
  // INSERT writes them), plain "?" means the same and spares SQLite a search per parameter
  // that is quadratic in their number.
  bool in_order = true;
  int expect = 1;
  for (size_t i = 0; i + 1 < sql.size() && in_order; ++i) {
    if (sql[i] != '$' || !std::isdigit(static_cast<unsigned char>(sql[i + 1]))) continue;
    int n = 0;
    for (size_t j = i + 1; j < sql.size() && std::isdigit(static_cast<unsigned char>(sql[j])); ++j)
      n = n * 10 + (sql[j] - '0');
    in_order = n == expect++;
  }
  std::string out;
  out.reserve(sql.size());
  for (size_t i = 0; i < sql.size(); ++i) {
    if (sql[i] == '$' && i + 1 < sql.size() &&
        std::isdigit(static_cast<unsigned char>(sql[i + 1]))) {
      out += '?';
      if (in_order)
        while (i + 1 < sql.size() && std::isdigit(static_cast<unsigned char>(sql[i + 1]))) ++i;
      continue;
    }
    out += sql[i];
  }
  return out;
}

const SqlDialect& SqliteDialect() {
  static const SqlDialect d{.name = "sqlite",
                            .postgres = false,
                            .skip_locked = "",
                            .for_update = "",
                            .migration_lock = "",
                            .clustered = " WITHOUT ROWID",
                            .insert_rows = 1,
                            .concat_agg = "group_concat"};
  return d;
}

const SqlDialect& PostgresDialect() {
  static const SqlDialect d{.name = "postgresql",
                            .postgres = true,
                            .skip_locked = " FOR UPDATE SKIP LOCKED",
                            .for_update = " FOR UPDATE",
                            .migration_lock = "SELECT pg_advisory_xact_lock(7170616)",
                            .clustered = "",
                            .insert_rows = 500,
                            .concat_agg = "string_agg"};
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
