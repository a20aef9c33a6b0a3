#include "opal/record_store.h"

#include <cstdlib>

#include "store/dsn.h"
#include "store/memory_store.h"
#include "store/sql_record_store.h"
#include "store/sql_session.h"

namespace opal {

Result<std::unique_ptr<RecordStore>> RecordStore::Open(std::string_view dsn) {
  OPAL_ASSIGN_OR_RETURN(store::Dsn d, store::ParseDsn(dsn));
  if (d.backend == store::Backend::kMemory) return store::NewMemoryStore();
  OPAL_ASSIGN_OR_RETURN(auto session, store::OpenSqlSession(dsn));
  return store::NewSqlRecordStore(std::move(session));
}

std::string RecordStore::DefaultDsn() {
  if (const char* env = std::getenv("OPAL_STORE"); env && *env) return env;
  std::string dir;
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) {
    dir = xdg;
  } else if (const char* home = std::getenv("HOME"); home && *home) {
    dir = std::string(home) + "/.local/share";
  } else {
    dir = ".";
  }
  return "sqlite:" + dir + "/opal/records.db";
}

std::string RecordStore::RedactDsn(std::string_view dsn) { return store::Redact(dsn); }

}  // namespace opal
