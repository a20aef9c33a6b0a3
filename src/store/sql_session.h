// One SQL interface over both backends for code written once in portable SQL (the task queue):
// statements use $1..$n placeholders (rewritten to ?1..?n for SQLite), values go as text
// parameters, rows come back as text. Each Transaction retries like its backend does.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "opal/status.h"
#include "store/record_writer.h"

namespace opal::store {

using SqlRow = std::vector<std::string>;

class SqlSession {
 public:
  virtual ~SqlSession() = default;
  virtual bool postgres() const = 0;
  virtual std::string Describe() const = 0;
  // Runs one statement; rows (empty for commands). `changes` gets the affected row count.
  virtual Result<std::vector<SqlRow>> Query(const std::string& sql, const std::vector<std::string>& params = {},
                                            int64_t* changes = nullptr) = 0;
  // A write transaction around fn (records written through writer() commit with it).
  virtual Status Transaction(const std::function<Status()>& fn) = 0;
  virtual RecordWriter& writer() = 0;
};

// Opens the database named by a sqlite: or postgresql: DSN and migrates its schema.
Result<std::unique_ptr<SqlSession>> OpenSqlSession(std::string_view dsn);

}  // namespace opal::store
