#include "store/sql_dialect.h"

#include <gtest/gtest.h>

namespace opal::store {
namespace {

TEST(SqlDialect, PlaceholdersAreSpelledPerBackend) {
  const std::string sql = "SELECT a FROM t WHERE b = $2 AND c = $1 OR d = $2";
  EXPECT_EQ(PostgresDialect().Placeholders(sql), sql);
  EXPECT_EQ(SqliteDialect().Placeholders(sql), "SELECT a FROM t WHERE b = ?2 AND c = ?1 OR d = ?2");
  // In order and once each: anonymous placeholders, numbered by position.
  EXPECT_EQ(SqliteDialect().Placeholders("VALUES ($1,$2),($3,$4),($5,$6),($7,$8),($9,$10)"),
            "VALUES (?,?),(?,?),(?,?),(?,?),(?,?)");
  EXPECT_EQ(SqliteDialect().Placeholders("x = $1 AND y = $3"), "x = ?1 AND y = ?3")
      << "a gap keeps numbers";
  EXPECT_EQ(SqliteDialect().Placeholders("no parameters, costs $ and 5"),
            "no parameters, costs $ and 5");
}

TEST(SqlDialect, UpsertIsSpelledOnceForBoth) {
  EXPECT_EQ(OnConflict("uid"), " ON CONFLICT (uid) DO NOTHING");
  EXPECT_EQ(OnConflict("id", {"a", "b"}),
            " ON CONFLICT (id) DO UPDATE SET a = excluded.a, b = excluded.b");
}

TEST(SqlDialect, TypeNames) {
  EXPECT_EQ(SqliteDialect().TypeName(SqlType::kId), "INTEGER PRIMARY KEY");
  EXPECT_EQ(PostgresDialect().TypeName(SqlType::kId), "BIGSERIAL PRIMARY KEY");
  EXPECT_EQ(PostgresDialect().TypeName(SqlType::kReal), "DOUBLE PRECISION");
  EXPECT_EQ(SqliteDialect().TypeName(SqlType::kBigInt), "INTEGER");
}

}  // namespace
}  // namespace opal::store
