// SqlSession on one SQLite file: WAL journal, a 5 s busy timeout, write transactions that take
// the write lock up front (BEGIN IMMEDIATE) so that several processes can share the file, and a
// cache of prepared statements.
#include <fmt/format.h>
#include <sqlite3.h>

#include <filesystem>
#include <unordered_map>

#include "opal/log.h"
#include "store/best_rows.h"
#include "store/sql_session.h"

namespace opal::store {
namespace {

Status SqliteError(sqlite3* db, int rc, std::string_view what) {
  const int primary = rc & 0xff;
  const char* msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
    return Error(ErrorCode::kUnavailable, "{}: the database stayed locked by another process ({})",
                 what, msg);
  }
  if (primary == SQLITE_FULL) {  // transient like a lock: retried while space may come back
    return Error(ErrorCode::kUnavailable,
                 "{}: the disk holding the store is full ({}); free some space", what, msg);
  }
  if (primary == SQLITE_CANTOPEN || primary == SQLITE_PERM || primary == SQLITE_READONLY ||
      primary == SQLITE_IOERR) {
    return Error(ErrorCode::kIo, "{}: {}", what, msg);
  }
  if (primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT) {
    return Error(ErrorCode::kInvalidArgument, "{}: not an opal store or corrupted ({})", what, msg);
  }
  return Error(ErrorCode::kInternal, "{}: SQLite error {} ({})", what, rc, msg);
}

class SqliteRow final : public SqlRowView {
 public:
  explicit SqliteRow(sqlite3_stmt* s) : s_(s) {}
  int Columns() const override { return sqlite3_column_count(s_); }
  std::string Text(int col) const override {
    switch (sqlite3_column_type(s_, col)) {
      case SQLITE_INTEGER:
        return std::to_string(sqlite3_column_int64(s_, col));
      case SQLITE_FLOAT:
        return fmt::format("{}", sqlite3_column_double(s_, col));  // shortest exact
      case SQLITE_NULL:
        return "";
      default: {
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
        return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s_, col)))
                 : std::string();
      }
    }
  }
  int64_t Int(int col) const override { return sqlite3_column_int64(s_, col); }
  double Real(int col) const override { return sqlite3_column_double(s_, col); }

 private:
  sqlite3_stmt* s_;
};

// opal_best_record(field...): a record of a best_rows body (best_rows.h), encoded in one call
// per record: SQLite's own CAST and printf do not give every double's shortest exact text, and
// the same encoding in SQL expressions was most of the cost of rewriting a group's row.
void BestRecord(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  std::string out;
  out.reserve(512);
  for (int i = 0; i < argc; ++i) {
    switch (sqlite3_value_type(argv[i])) {
      case SQLITE_FLOAT:
        AppendBestField(out, fmt::format("{}", sqlite3_value_double(argv[i])));
        break;
      case SQLITE_INTEGER:
        AppendBestField(out, std::to_string(sqlite3_value_int64(argv[i])));
        break;
      default: {
        const auto* p = reinterpret_cast<const char*>(sqlite3_value_text(argv[i]));
        AppendBestField(out,
                        p ? std::string_view(p, static_cast<size_t>(sqlite3_value_bytes(argv[i])))
                          : std::string_view());
      }
    }
  }
  sqlite3_result_text(ctx, out.data(), static_cast<int>(out.size()), SQLITE_TRANSIENT);
}

class SqliteSession final : public SqlSession {
 public:
  SqliteSession(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  ~SqliteSession() override {
    for (auto& [sql, s] : cache_) sqlite3_finalize(s.stmt);
    sqlite3_close_v2(db_);
  }

  const SqlDialect& dialect() const override { return SqliteDialect(); }
  std::string Describe() const override { return "sqlite:" + path_; }

  Status Query(const std::string& sql, const SqlParams& params, const SqlRowFn& row,
               int64_t* changes) override {
    ObserveStatement(sql);
    Cached* cached = nullptr;
    sqlite3_stmt* s = nullptr;
    if (params.size() <= kMaxCachedParams) {
      cached = &cache_[sql];
      if (cached->busy)
        cached = nullptr;  // re-entered from a row callback: prepare another
      else
        s = cached->stmt;
    }
    if (!s) {
      const std::string text = SqliteDialect().Placeholders(sql);
      const int rc =
          sqlite3_prepare_v2(db_, text.c_str(), static_cast<int>(text.size()), &s, nullptr);
      if (rc != SQLITE_OK) return SqliteError(db_, rc, "preparing SQL");
      if (cached) cached->stmt = s;
    }
    if (cached) cached->busy = true;
    Status st = Run(s, params, row);
    if (changes && st.ok()) *changes = sqlite3_changes64(db_);
    if (cached) {
      sqlite3_reset(s);
      sqlite3_clear_bindings(s);
      cached->busy = false;
    } else {
      sqlite3_finalize(s);
    }
    return st;
  }

  Status ExecScript(const std::string& sql) override {
    ObserveStatement(sql);
    char* err = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    sqlite3_free(err);
    if (rc == SQLITE_OK) {
      full_ = false;
      return Status::Ok();
    }
    return Failed(rc);
  }

 protected:
  Status BeginWrite() override { return ExecScript("BEGIN IMMEDIATE"); }
  Status Commit() override { return ExecScript("COMMIT"); }
  void Rollback() override { sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr); }
  Status EnsureConnected() override { return Status::Ok(); }

 private:
  static constexpr size_t kMaxCachedParams =
      64;  // larger ones are multi-row inserts, built per batch
  struct Cached {
    sqlite3_stmt* stmt = nullptr;
    bool busy = false;
  };

  Status Run(sqlite3_stmt* s, const SqlParams& params, const SqlRowFn& row) {
    for (size_t i = 0; i < params.size(); ++i) {
      const int at = static_cast<int>(i + 1);
      if (const auto* t = std::get_if<std::string>(&params[i])) {
        sqlite3_bind_text(s, at, t->data(), static_cast<int>(t->size()), SQLITE_TRANSIENT);
      } else if (const auto* n = std::get_if<int64_t>(&params[i])) {
        sqlite3_bind_int64(s, at, *n);
      } else {
        sqlite3_bind_double(s, at, std::get<double>(params[i]));
      }
    }
    SqliteRow view(s);
    bool reading = true;
    while (true) {
      const int rc = sqlite3_step(s);
      if (rc == SQLITE_DONE) return Status::Ok();
      if (rc != SQLITE_ROW) return Failed(rc);
      if (row && reading) reading = row(view);
      if (!reading) return Status::Ok();
    }
  }

  // The error of `rc`; a full disk is reported once until a write goes through again.
  Status Failed(int rc) {
    if ((rc & 0xff) == SQLITE_FULL && !full_) {
      log::Warn("the disk holding the store {} is full; retrying for up to {:.0f} s", path_,
                RetryWindowSeconds());
      full_ = true;
    }
    return SqliteError(db_, rc, "SQLite " + path_);
  }

  sqlite3* db_;
  std::string path_;
  bool full_ = false;
  std::unordered_map<std::string, Cached> cache_;
};

}  // namespace

Result<std::unique_ptr<SqlSession>> ConnectSqlite(const std::string& path) {
  std::error_code ec;
  const auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  if (ec)
    return Error(ErrorCode::kIo, "cannot create directory {} for the store: {}", dir.string(),
                 ec.message());
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Status st = SqliteError(db, rc, "cannot open SQLite store " + path);
    sqlite3_close_v2(db);
    return st;
  }
  auto session = std::make_unique<SqliteSession>(db, path);
  sqlite3_busy_timeout(db, 5000);
  sqlite3_extended_result_codes(db, 1);
  if (const int frc = sqlite3_create_function(db, "opal_best_record", kBestFieldCount,
                                              SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr,
                                              BestRecord, nullptr, nullptr);
      frc != SQLITE_OK)
    return SqliteError(db, frc, "SQLite " + path);
  // journal_mode=WAL needs a short write lock itself: retry it like any write. A 64 MB WAL
  // between checkpoints (16384 pages instead of 1000) lets an index page dirtied by many batches
  // be copied back and synced once: imports run about 1.5x faster at 10^5 records. The page
  // cache (an upper bound, filled only by pages a connection dirties: reads come from the mmap)
  // must hold the pages one import transaction dirties, else they are spilled to the WAL and
  // read and written again (docs/store.md, "Why inserts slowed down at 10^6").
  for (int attempt = 0;; ++attempt) {
    Status st = session->ExecScript(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA "
        "cache_size=-524288; "
        "PRAGMA mmap_size=1073741824; PRAGMA wal_autocheckpoint=16384");
    if (st.ok()) break;
    if (st.code() != ErrorCode::kUnavailable || attempt >= 10)
      return st.WithContext("opening " + path);
  }
  return std::unique_ptr<SqlSession>(std::move(session));
}

}  // namespace opal::store
