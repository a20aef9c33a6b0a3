// Parsing of store DSNs ("sqlite:PATH", "postgresql://...", "memory:") shared by the backends.
#pragma once

#include <string>
#include <string_view>

#include "opal/status.h"

namespace opal::store {

enum class Backend { kMemory, kSqlite, kPostgres };

struct Dsn {
  Backend backend = Backend::kMemory;
  std::string location;  // SQLite: file path; PostgreSQL: the libpq URI as given; memory: ""
};

// kInvalidArgument with the accepted forms when `text` names no backend or lacks its location.
Result<Dsn> ParseDsn(std::string_view text);

// The password in "scheme://user:password@host" and in "password=..." replaced by "***".
std::string Redact(std::string_view text);

}  // namespace opal::store
