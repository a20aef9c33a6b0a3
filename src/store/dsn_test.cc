#include "store/dsn.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "opal/record_store.h"

namespace opal::store {
namespace {

TEST(Dsn, ParsesTheThreeBackends) {
  EXPECT_EQ(ParseDsn("memory:")->backend, Backend::kMemory);
  auto s = ParseDsn("sqlite:/tmp/x.db");
  EXPECT_EQ(s->backend, Backend::kSqlite);
  EXPECT_EQ(s->location, "/tmp/x.db");
  EXPECT_EQ(ParseDsn("sqlite:relative/x.db")->location, "relative/x.db");
  EXPECT_EQ(ParseDsn("postgresql://u@h:5432/d")->backend, Backend::kPostgres);
  EXPECT_EQ(ParseDsn("postgres://u@h/d")->backend, Backend::kPostgres);
  auto bad = ParseDsn("records.db");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("did you mean sqlite:records.db"), std::string::npos);
}

TEST(Dsn, RedactsPasswords) {
  EXPECT_EQ(Redact("postgresql://alice:s3cr3t@db:5432/opal"), "postgresql://alice:***@db:5432/opal");
  EXPECT_EQ(Redact("postgres://alice@db/opal?password=s3cr3t&sslmode=require"),
            "postgres://alice@db/opal?password=***&sslmode=require");
  EXPECT_EQ(Redact("sqlite:/home/a:b@c/x.db"), "sqlite:/home/a:b@c/x.db");
}

TEST(Dsn, DefaultComesFromTheEnvironment) {
  setenv("OPAL_STORE", "postgresql://team@db/opal", 1);
  EXPECT_EQ(RecordStore::DefaultDsn(), "postgresql://team@db/opal");
  unsetenv("OPAL_STORE");
  setenv("XDG_DATA_HOME", "/data", 1);
  EXPECT_EQ(RecordStore::DefaultDsn(), "sqlite:/data/opal/records.db");
}

}  // namespace
}  // namespace opal::store
