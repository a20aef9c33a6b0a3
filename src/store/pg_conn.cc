#include "store/pg_conn.h"

#include <chrono>
#include <random>
#include <thread>

#include "store/dsn.h"

namespace opal::store {
namespace {

PGconn* RawConnect(const std::string& uri) {
  const char* keys[] = {"dbname", "connect_timeout", "application_name", nullptr};
  const char* values[] = {uri.c_str(), "5", "opal", nullptr};
  return PQconnectdbParams(keys, values, /*expand_dbname=*/1);
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  std::string out;
  for (char c : s) {
    if (c == '\n' || c == '\t') c = ' ';
    if (c == ' ' && !out.empty() && out.back() == ' ') continue;
    out += c;
  }
  return out;
}

}  // namespace

PgConn::~PgConn() { PQfinish(c_); }

Result<std::unique_ptr<PgConn>> PgConn::Connect(const std::string& uri) {
  const std::string redacted = Redact(uri);
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(uri.c_str(), &err);
  if (!opts) {
    std::string msg = err ? Trim(err) : "malformed";
    PQfreemem(err);
    return Error(ErrorCode::kInvalidArgument, "store DSN '{}' is not a valid PostgreSQL URI: {}", redacted,
                 Redact(msg));
  }
  PQconninfoFree(opts);
  PGconn* c = RawConnect(uri);
  if (PQstatus(c) != CONNECTION_OK) {
    std::string msg = Redact(Trim(PQerrorMessage(c)));
    PQfinish(c);
    return Error(ErrorCode::kUnavailable, "cannot connect to PostgreSQL store {}: {}", redacted, msg);
  }
  std::unique_ptr<PgConn> out(new PgConn(c, uri, redacted));
  // Shortest exact text for doubles (PostgreSQL >= 12), quiet notices.
  OPAL_RETURN_IF_ERROR(out->Exec("SET extra_float_digits = 1").status());
  OPAL_RETURN_IF_ERROR(out->Exec("SET client_min_messages = warning").status());
  return out;
}

Status PgConn::Reconnect() {
  PQreset(c_);
  if (PQstatus(c_) != CONNECTION_OK) {
    return Error(ErrorCode::kUnavailable, "lost the PostgreSQL store {}: {}", redacted_,
                 Redact(Trim(PQerrorMessage(c_))));
  }
  PGresult* r = PQexec(c_, "SET extra_float_digits = 1");
  PQclear(r);
  return Status::Ok();
}

Result<PgResult> PgConn::Exec(const std::string& sql, const std::vector<std::string>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p.c_str());
  PgResult out;
  // Without parameters, PQexec also accepts several ';'-separated statements (migrations).
  out.res.reset(params.empty() ? PQexec(c_, sql.c_str())
                               : PQexecParams(c_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                                              values.data(), nullptr, nullptr, 0));
  const ExecStatusType st = PQresultStatus(out.res.get());
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return out;
  const char* state = PQresultErrorField(out.res.get(), PG_DIAG_SQLSTATE);
  const std::string code = state ? state : "";
  std::string msg = Redact(Trim(PQerrorMessage(c_)));
  if (PQstatus(c_) != CONNECTION_OK || code.rfind("08", 0) == 0 || code.rfind("57P", 0) == 0) {
    return Error(ErrorCode::kUnavailable, "PostgreSQL store {}: connection lost: {}", redacted_, msg);
  }
  if (code == "40001" || code == "40P01") {
    return Error(ErrorCode::kUnavailable, "PostgreSQL store {}: transaction conflict: {}", redacted_, msg);
  }
  return Error(ErrorCode::kInternal, "PostgreSQL store {}: {} (SQLSTATE {})", redacted_, msg, code);
}

Status PgConn::Transaction(const std::function<Status()>& fn) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  std::mt19937 rng(std::random_device{}());
  for (int attempt = 0;; ++attempt) {
    Status st = PQstatus(c_) == CONNECTION_OK ? Status::Ok() : Reconnect();
    if (st.ok()) st = Exec("BEGIN").status();
    if (st.ok()) {
      st = fn();
      if (st.ok()) st = Exec("COMMIT").status();
      if (st.ok()) return st;
      if (PQstatus(c_) == CONNECTION_OK) PQclear(PQexec(c_, "ROLLBACK"));
    }
    if (st.code() != ErrorCode::kUnavailable || Clock::now() > deadline) return st;
    std::this_thread::sleep_for(std::chrono::milliseconds(20 + rng() % (50 * (1 + std::min(attempt, 10)))));
  }
}

}  // namespace opal::store
