// RecordStore on a PostgreSQL server (libpq): many clients at once, each method one transaction,
// retried when the connection drops (server restart) or the server reports a serialization
// conflict. Values are always sent as parameters.
#pragma once

#include <memory>
#include <string>

#include "opal/record_store.h"

namespace opal::store {

// Connects (5 s timeout) and migrates the schema (to `max_version` when > 0, for tests).
// kInvalidArgument for a malformed URI, kUnavailable when the server cannot be reached;
// messages never contain the password.
Result<std::unique_ptr<RecordStore>> OpenPostgresStore(const std::string& uri, int max_version = 0);

}  // namespace opal::store
