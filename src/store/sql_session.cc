#include "store/sql_session.h"

#include <chrono>
#include <cstdlib>
#include <random>
#include <thread>

#include "store/dsn.h"
#include "store/record_writer.h"
#include "store/schema.h"

namespace opal::store {

SqlSession::SqlSession() : writer_(std::make_unique<RecordWriter>(*this)) {}
SqlSession::~SqlSession() = default;

RecordWriter& SqlSession::writer() { return *writer_; }

double RetryWindowSeconds() {
  if (const char* s = std::getenv("OPAL_STORE_RETRY_S"); s && *s) {
    char* end = nullptr;
    const double v = std::strtod(s, &end);
    if (end && *end == '\0' && v >= 0) return v;
  }
  return 60;
}

namespace {
std::function<void(const std::string&)>& Observer() {
  static std::function<void(const std::string&)> observer;
  return observer;
}
}  // namespace

void SetStatementObserver(std::function<void(const std::string& sql)> observer) { Observer() = std::move(observer); }

void ObserveStatement(const std::string& sql) {
  if (Observer()) Observer()(sql);
}

Result<std::vector<SqlRow>> SqlSession::Rows(const std::string& sql, const SqlParams& params) {
  std::vector<SqlRow> rows;
  OPAL_RETURN_IF_ERROR(Query(sql, params, [&](const SqlRowView& v) {
    SqlRow r;
    r.reserve(static_cast<size_t>(v.Columns()));
    for (int c = 0; c < v.Columns(); ++c) r.push_back(v.Text(c));
    rows.push_back(std::move(r));
    return true;
  }));
  return rows;
}

Status SqlSession::Transaction(const std::function<Status()>& fn) { return Retrying(true, fn); }
Status SqlSession::Read(const std::function<Status()>& fn) { return Retrying(false, fn); }

Status SqlSession::Retrying(bool write, const std::function<Status()>& fn) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration<double>(RetryWindowSeconds());
  thread_local std::mt19937 rng(std::random_device{}());
  for (int attempt = 0;; ++attempt) {
    Status st = EnsureConnected();
    if (st.ok() && write) st = BeginWrite();
    if (st.ok()) {
      writer_->Discard();  // ids cached by an earlier try of this transaction were rolled back
      st = fn();
      if (st.ok() && write) st = Commit();
      if (st.ok()) {
        writer_->Committed();
        return st;
      }
      if (write) Rollback();
      writer_->Discard();
    }
    if (st.code() != ErrorCode::kUnavailable) return st;
    // Full jitter over an exponential ceiling: 10 ms, 20 ms, ... at most 1 s.
    const int ceiling_ms = 10 << std::min(attempt, 7);
    const auto delay =
        std::chrono::milliseconds(1 + rng() % static_cast<unsigned>(std::min(ceiling_ms, 1000)));
    if (Clock::now() + delay > deadline) {
      const double waited = std::chrono::duration<double>(Clock::now() - start).count();
      return attempt == 0
                 ? st
                 : st.WithContext(fmt::format("still failing after {:.0f} s of retries", waited));
    }
    std::this_thread::sleep_for(delay);
  }
}

Result<std::unique_ptr<SqlSession>> OpenSqlSession(std::string_view dsn, int max_version) {
  OPAL_ASSIGN_OR_RETURN(Dsn d, ParseDsn(dsn));
  Result<std::unique_ptr<SqlSession>> session =
      d.backend == Backend::kSqlite ? ConnectSqlite(d.location)
      : d.backend == Backend::kPostgres
          ? ConnectPostgres(d.location)
          : Result<std::unique_ptr<SqlSession>>(
                Error(ErrorCode::kInvalidArgument,
                      "this needs a sqlite: or postgresql: store, not {}", Redact(dsn)));
  if (!session.ok()) return session.status();
  OPAL_RETURN_IF_ERROR(Migrate(**session, max_version));
  return session;
}

}  // namespace opal::store
