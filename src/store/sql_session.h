// SqlSession: one connection to an SQL store -- a SQLite file or a PostgreSQL server -- behind one
// interface, so the record store, the task queue and the cost-model registry are each written once.
//  - Statements use $1..$n placeholders (SqlDialect rewrites them for SQLite); parameters are
//    typed (text, 64-bit integer, double): SQLite binds them natively and PostgreSQL receives
//    their types with them, so no statement depends on implicit text conversions.
//  - Statements with few parameters are prepared once per connection and cached.
//  - Transaction() and Read() run a function and retry it from the start while the failure is
//    transient -- SQLite: the file is locked by another process; PostgreSQL: the connection was
//    lost (server restart) or a serialization conflict -- reconnecting first, with jittered
//    exponential back-off, for up to RetryWindowSeconds(); then the error (kUnavailable) stands.
// A session is used by one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "opal/status.h"
#include "store/sql_dialect.h"

namespace opal::store {

class RecordWriter;

using SqlValue = std::variant<std::string, int64_t, double>;
using SqlParams = std::vector<SqlValue>;

// One result row, valid only inside the row callback.
class SqlRowView {
 public:
  virtual ~SqlRowView() = default;
  virtual int Columns() const = 0;
  // Numbers as their shortest exact text; NULL as "".
  virtual std::string Text(int col) const = 0;
  virtual int64_t Int(int col) const = 0;
  virtual double Real(int col) const = 0;
};
// Return false to stop reading rows.
using SqlRowFn = std::function<bool(const SqlRowView&)>;
using SqlRow = std::vector<std::string>;

class SqlSession {
 public:
  virtual ~SqlSession();
  virtual const SqlDialect& dialect() const = 0;
  // The redacted DSN ("sqlite:PATH", "postgresql://user:***@host/db").
  virtual std::string Describe() const = 0;

  // Runs one statement once (no retry): `row` for each result row until it returns false;
  // `changes` gets the number of rows inserted, updated or deleted.
  virtual Status Query(const std::string& sql, const SqlParams& params = {},
                       const SqlRowFn& row = nullptr, int64_t* changes = nullptr) = 0;
  // ';'-separated statements without parameters (schema migrations).
  virtual Status ExecScript(const std::string& sql) = 0;

  // Every row as text.
  Result<std::vector<SqlRow>> Rows(const std::string& sql, const SqlParams& params = {});

  // fn in a write transaction, committed when it returns OK, rolled back otherwise; retried
  // from the start on transient failures (see above). Records written through writer() inside
  // fn commit with it.
  Status Transaction(const std::function<Status()>& fn);
  // fn (reads only, no transaction) retried like Transaction.
  Status Read(const std::function<Status()>& fn);
  // fn running one write statement, its own transaction (autocommit), retried like Transaction:
  // the statement must be safe to run again when its commit's acknowledgement was lost.
  Status Autocommit(const std::function<Status()>& fn) { return Read(fn); }

  // Inserts records inside Transaction (caches workload and target ids of committed rows).
  RecordWriter& writer();

 protected:
  SqlSession();
  virtual Status BeginWrite() = 0;
  virtual Status Commit() = 0;
  virtual void Rollback() = 0;
  // Reconnects a lost connection (PostgreSQL); kUnavailable while the server is unreachable.
  virtual Status EnsureConnected() = 0;

 private:
  Status Retrying(bool write, const std::function<Status()>& fn);
  std::unique_ptr<RecordWriter> writer_;
};

// How long transient failures are retried: $OPAL_STORE_RETRY_S seconds when set, else 60.
double RetryWindowSeconds();

// Test support: `observer` is called with the text of every statement any session runs -- the
// SQL only: values travel as parameters and are never part of it (sql_injection_test.cc checks
// exactly that). Set it before opening sessions; nullptr removes it.
void SetStatementObserver(std::function<void(const std::string& sql)> observer);
// Called by the sessions before running `sql`.
void ObserveStatement(const std::string& sql);

// Opens the store named by a sqlite: or postgresql: DSN and migrates its schema to the current
// version (to `max_version` when > 0: tests use it to make an old store). kInvalidArgument for
// other DSNs, kUnavailable when the server cannot be reached, kFailed when the database's schema
// is newer than this opal.
Result<std::unique_ptr<SqlSession>> OpenSqlSession(std::string_view dsn, int max_version = 0);

// The backends, without migration (sqlite_session.cc, pg_session.cc).
Result<std::unique_ptr<SqlSession>> ConnectSqlite(const std::string& path);
Result<std::unique_ptr<SqlSession>> ConnectPostgres(const std::string& uri);

}  // namespace opal::store
