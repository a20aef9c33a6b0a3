// A thin RAII layer over the SQLite C API: a connection, prepared statements with bound
// parameters, and write transactions that retry while another process holds the lock.
#pragma once

#include <sqlite3.h>

#include <functional>
#include <memory>
#include <string>

#include "opal/status.h"

namespace opal::store {

class SqliteStmt {
 public:
  SqliteStmt(sqlite3* db, sqlite3_stmt* s) : db_(db), s_(s) {}
  SqliteStmt(SqliteStmt&& o) noexcept : db_(o.db_), s_(o.s_) { o.s_ = nullptr; }
  SqliteStmt& operator=(SqliteStmt&&) = delete;
  ~SqliteStmt() { sqlite3_finalize(s_); }

  SqliteStmt& Bind(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  SqliteStmt& Bind(int i, double v) { sqlite3_bind_double(s_, i, v); return *this; }
  SqliteStmt& Bind(int i, int64_t v) { sqlite3_bind_int64(s_, i, v); return *this; }
  SqliteStmt& Bind(int i, int v) { sqlite3_bind_int64(s_, i, v); return *this; }

  // Steps once: true with a row, false when done; errors (SQLITE_BUSY included) as Status.
  Result<bool> Step();
  // Steps to the end, ignoring rows.
  Status Run();
  Status Reset();

  std::string Text(int col) const;
  double Real(int col) const { return sqlite3_column_double(s_, col); }
  int Columns() const { return sqlite3_column_count(s_); }
  int64_t Int(int col) const { return sqlite3_column_int64(s_, col); }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_;
};

class SqliteDb {
 public:
  ~SqliteDb();
  static Result<std::unique_ptr<SqliteDb>> Open(const std::string& path);

  Result<SqliteStmt> Prepare(const std::string& sql);
  // Runs ';'-separated statements without parameters.
  Status Exec(const std::string& sql);
  // BEGIN IMMEDIATE; fn; COMMIT -- retried from the start while the database is busy (up to about
  // a minute), rolled back when fn fails. kUnavailable when the lock never came free.
  Status WriteTransaction(const std::function<Status()>& fn);
  int64_t Changes() const { return sqlite3_changes64(db_); }
  const std::string& path() const { return path_; }

 private:
  SqliteDb(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_;
  std::string path_;
};

// A Status for SQLite result code `rc` on `db`, kUnavailable for busy/locked.
Status SqliteError(sqlite3* db, int rc, std::string_view what);

}  // namespace opal::store
