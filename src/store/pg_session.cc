// SqlSession on a PostgreSQL server (libpq): typed parameters, statements prepared once per
// connection, and reconnection (PQreset) when the server went away. Messages never carry the
// password of the DSN.
#include <fmt/format.h>
#include <libpq-fe.h>

#include <cstdlib>
#include <unordered_map>

#include "opal/log.h"
#include "store/dsn.h"
#include "store/sql_session.h"

namespace opal::store {
namespace {

constexpr unsigned kInt8Oid = 20, kTextOid = 25, kFloat8Oid = 701;

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

using PgResultPtr = std::unique_ptr<PGresult, void (*)(PGresult*)>;

class PgRow final : public SqlRowView {
 public:
  PgRow(const PGresult* res, int row) : res_(res), row_(row) {}
  int Columns() const override { return PQnfields(res_); }
  std::string Text(int col) const override { return PQgetvalue(res_, row_, col); }
  int64_t Int(int col) const override {
    return std::strtoll(PQgetvalue(res_, row_, col), nullptr, 10);
  }
  double Real(int col) const override { return std::strtod(PQgetvalue(res_, row_, col), nullptr); }

 private:
  const PGresult* res_;
  int row_;
};

class PgSession final : public SqlSession {
 public:
  PgSession(PGconn* c, std::string redacted) : c_(c), redacted_(std::move(redacted)) {}
  ~PgSession() override { PQfinish(c_); }

  const SqlDialect& dialect() const override { return PostgresDialect(); }
  std::string Describe() const override { return redacted_; }

  Status Query(const std::string& sql, const SqlParams& params, const SqlRowFn& row,
               int64_t* changes) override {
    ObserveStatement(sql);
    std::vector<std::string> text(params.size());
    std::vector<const char*> values(params.size());
    std::vector<unsigned> types(params.size());
    std::string signature = sql;  // a prepared statement is bound to its parameter types
    for (size_t i = 0; i < params.size(); ++i) {
      if (const auto* t = std::get_if<std::string>(&params[i])) {
        values[i] = t->c_str();
        types[i] = kTextOid;
      } else if (const auto* n = std::get_if<int64_t>(&params[i])) {
        text[i] = std::to_string(*n);
        values[i] = text[i].c_str();
        types[i] = kInt8Oid;
      } else {
        text[i] = fmt::format("{}", std::get<double>(params[i]));  // shortest exact
        values[i] = text[i].c_str();
        types[i] = kFloat8Oid;
      }
      signature += types[i] == kTextOid ? 't' : types[i] == kInt8Oid ? 'i' : 'd';
    }
    const int n = static_cast<int>(params.size());
    PgResultPtr res(nullptr, PQclear);
    if (params.size() <= kMaxCachedParams) {
      auto it = prepared_.find(signature);
      if (it == prepared_.end()) {
        const std::string name = "opal_" + std::to_string(prepared_.size());
        PgResultPtr prep(PQprepare(c_, name.c_str(), sql.c_str(), n, types.data()), PQclear);
        OPAL_RETURN_IF_ERROR(Check(prep.get()));
        it = prepared_.emplace(signature, name).first;
      }
      res.reset(PQexecPrepared(c_, it->second.c_str(), n, values.data(), nullptr, nullptr, 0));
    } else {
      res.reset(PQexecParams(c_, sql.c_str(), n, types.data(), values.data(), nullptr, nullptr, 0));
    }
    OPAL_RETURN_IF_ERROR(Check(res.get()));
    if (row) {
      for (int i = 0; i < PQntuples(res.get()); ++i)
        if (!row(PgRow(res.get(), i))) break;
    }
    if (changes) *changes = std::strtoll(PQcmdTuples(res.get()), nullptr, 10);
    return Status::Ok();
  }

  Status ExecScript(const std::string& sql) override {
    ObserveStatement(sql);
    PgResultPtr res(PQexec(c_, sql.c_str()), PQclear);
    return Check(res.get());
  }

  // Settings every connection needs: shortest exact text for doubles, quiet notices.
  Status Configure() {
    prepared_.clear();  // prepared statements live and die with the connection
    return ExecScript("SET extra_float_digits = 1; SET client_min_messages = warning");
  }

 protected:
  Status BeginWrite() override { return ExecScript("BEGIN"); }
  Status Commit() override { return ExecScript("COMMIT"); }
  void Rollback() override {
    if (PQstatus(c_) == CONNECTION_OK) PQclear(PQexec(c_, "ROLLBACK"));
  }
  Status EnsureConnected() override {
    if (PQstatus(c_) == CONNECTION_OK) return Status::Ok();
    if (!lost_) {
      log::Warn("lost the connection to the PostgreSQL store {}; reconnecting (for up to {:.0f} s)",
                redacted_, RetryWindowSeconds());
      lost_ = true;
    }
    PQreset(c_);
    if (PQstatus(c_) != CONNECTION_OK) {
      return Error(ErrorCode::kUnavailable, "lost the PostgreSQL store {}: {}", redacted_,
                   Redact(Trim(PQerrorMessage(c_))));
    }
    log::Info("reconnected to the PostgreSQL store {}", redacted_);
    lost_ = false;
    return Configure();
  }

 private:
  static constexpr size_t kMaxCachedParams = 64;

  // OK for a successful result; a lost connection, a server shutting down, too many clients
  // and serialization conflicts are kUnavailable (retryable); anything else is a bug.
  Status Check(const PGresult* res) {
    const ExecStatusType st = PQresultStatus(res);
    if (res && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)) return Status::Ok();
    const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
    const std::string code = state ? state : "";
    const std::string msg = Redact(Trim(PQerrorMessage(c_)));
    if (PQstatus(c_) != CONNECTION_OK || code.rfind("08", 0) == 0 || code.rfind("57P", 0) == 0 ||
        code == "53300") {
      return Error(ErrorCode::kUnavailable, "PostgreSQL store {}: connection lost: {}", redacted_,
                   msg);
    }
    if (code == "40001" || code == "40P01") {
      return Error(ErrorCode::kUnavailable, "PostgreSQL store {}: transaction conflict: {}",
                   redacted_, msg);
    }
    return Error(ErrorCode::kInternal, "PostgreSQL store {}: {} (SQLSTATE {})", redacted_, msg,
                 code);
  }

  PGconn* c_;
  std::string redacted_;
  bool lost_ = false;  // the connection broke and has not come back yet
  std::unordered_map<std::string, std::string> prepared_;  // SQL + parameter types -> name
};

}  // namespace

Result<std::unique_ptr<SqlSession>> ConnectPostgres(const std::string& uri) {
  const std::string redacted = Redact(uri);
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(uri.c_str(), &err);
  if (!opts) {
    std::string msg = err ? Trim(err) : "malformed";
    PQfreemem(err);
    return Error(ErrorCode::kInvalidArgument, "store DSN '{}' is not a valid PostgreSQL URI: {}",
                 redacted, Redact(msg));
  }
  PQconninfoFree(opts);
  const char* keys[] = {"dbname", "connect_timeout", "application_name", nullptr};
  const char* values[] = {uri.c_str(), "5", "opal", nullptr};
  PGconn* c = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (PQstatus(c) != CONNECTION_OK) {
    std::string msg = Redact(Trim(PQerrorMessage(c)));
    PQfinish(c);
    return Error(ErrorCode::kUnavailable, "cannot connect to PostgreSQL store {}: {}", redacted,
                 msg);
  }
  // Server notices (e.g. "terminating connection due to administrator command" before a restart)
  // are not opal's to print: a lost connection is reported when it matters.
  PQsetNoticeProcessor(
      c, [](void*, const char*) {}, nullptr);
  auto session = std::make_unique<PgSession>(c, redacted);
  OPAL_RETURN_IF_ERROR(session->Configure());
  return std::unique_ptr<SqlSession>(std::move(session));
}

}  // namespace opal::store
