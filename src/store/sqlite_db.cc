#include "store/sqlite_db.h"

#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

namespace opal::store {

Status SqliteError(sqlite3* db, int rc, std::string_view what) {
  const int primary = rc & 0xff;
  const char* msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
    return Error(ErrorCode::kUnavailable, "{}: the database stayed locked by another process ({})", what, msg);
  }
  if (primary == SQLITE_CANTOPEN || primary == SQLITE_PERM || primary == SQLITE_READONLY ||
      primary == SQLITE_IOERR || primary == SQLITE_FULL) {
    return Error(ErrorCode::kIo, "{}: {}", what, msg);
  }
  if (primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT) {
    return Error(ErrorCode::kInvalidArgument, "{}: not an opal store or corrupted ({})", what, msg);
  }
  return Error(ErrorCode::kInternal, "{}: SQLite error {} ({})", what, rc, msg);
}

Result<bool> SqliteStmt::Step() {
  const int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(db_, rc, "SQLite statement");
}

Status SqliteStmt::Run() {
  while (true) {
    OPAL_ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return Status::Ok();
  }
}

Status SqliteStmt::Reset() {
  sqlite3_reset(s_);
  sqlite3_clear_bindings(s_);
  return Status::Ok();
}

std::string SqliteStmt::Text(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
  return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s_, col))) : std::string();
}

SqliteDb::~SqliteDb() { sqlite3_close_v2(db_); }

Result<std::unique_ptr<SqliteDb>> SqliteDb::Open(const std::string& path) {
  std::error_code ec;
  const auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  if (ec) return Error(ErrorCode::kIo, "cannot create directory {} for the store: {}", dir.string(), ec.message());
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    Status st = SqliteError(db, rc, "cannot open SQLite store " + path);
    sqlite3_close_v2(db);
    return st;
  }
  std::unique_ptr<SqliteDb> out(new SqliteDb(db, path));
  sqlite3_busy_timeout(db, 5000);
  sqlite3_extended_result_codes(db, 1);
  // journal_mode=WAL needs a short write lock itself: retry it like any write.
  for (int attempt = 0;; ++attempt) {
    Status st = out->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA cache_size=-65536; PRAGMA mmap_size=1073741824");
    if (st.ok()) break;
    if (st.code() != ErrorCode::kUnavailable || attempt >= 10) return st.WithContext("opening " + path);
  }
  return out;
}

Result<SqliteStmt> SqliteDb::Prepare(const std::string& sql) {
  sqlite3_stmt* s = nullptr;
  const int rc = sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &s, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db_, rc, "preparing SQL");
  return SqliteStmt(db_, s);
}

Status SqliteDb::Exec(const std::string& sql) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  sqlite3_free(err);
  if (rc != SQLITE_OK) return SqliteError(db_, rc, "SQLite " + path_);
  return Status::Ok();
}

Status SqliteDb::WriteTransaction(const std::function<Status()>& fn) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  std::mt19937 rng(std::random_device{}());
  for (int attempt = 0;; ++attempt) {
    Status st = Exec("BEGIN IMMEDIATE");
    if (st.ok()) {
      st = fn();
      if (st.ok()) st = Exec("COMMIT");
      if (st.ok()) return st;
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
    if (st.code() != ErrorCode::kUnavailable || Clock::now() > deadline) return st;
    // Busy past the busy timeout: back off with jitter and start over.
    std::this_thread::sleep_for(std::chrono::milliseconds(5 + rng() % (10 * (1 + std::min(attempt, 20)))));
  }
}

}  // namespace opal::store
