// A libpq connection with parameterized queries and retried transactions.
#pragma once

#include <libpq-fe.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "opal/status.h"

namespace opal::store {

// An owned PGresult.
struct PgResult {
  std::unique_ptr<PGresult, void (*)(PGresult*)> res{nullptr, PQclear};
  int Rows() const { return PQntuples(res.get()); }
  std::string Text(int row, int col) const { return PQgetvalue(res.get(), row, col); }
  double Real(int row, int col) const { return std::strtod(PQgetvalue(res.get(), row, col), nullptr); }
  int64_t Int(int row, int col) const { return std::strtoll(PQgetvalue(res.get(), row, col), nullptr, 10); }
  int64_t Affected() const { return std::strtoll(PQcmdTuples(res.get()), nullptr, 10); }
};

class PgConn {
 public:
  ~PgConn();
  static Result<std::unique_ptr<PgConn>> Connect(const std::string& uri);

  // Runs `sql` with text parameters $1..$n. Errors carry the server's message; a lost connection
  // or serialization failure is kUnavailable (retryable).
  Result<PgResult> Exec(const std::string& sql, const std::vector<std::string>& params = {});
  // BEGIN; fn; COMMIT -- retried from the start (reconnecting if needed) for about 30 s while the
  // failure is retryable; rolled back otherwise.
  Status Transaction(const std::function<Status()>& fn);
  const std::string& redacted() const { return redacted_; }

 private:
  PgConn(PGconn* c, std::string uri, std::string redacted)
      : c_(c), uri_(std::move(uri)), redacted_(std::move(redacted)) {}
  Status Reconnect();
  PGconn* c_;
  std::string uri_;
  std::string redacted_;
};

}  // namespace opal::store
