#include "store/sql_session.h"

#include <regex>

#include "store/dsn.h"
#include "store/pg_conn.h"
#include "store/postgres_store.h"
#include "store/sqlite_db.h"
#include "store/sqlite_store.h"

namespace opal::store {
namespace {

// Runs fn in the backend's retried transaction; the writer's id cache trusts only committed rows.
template <typename RunTransaction>
Status WithWriter(RecordWriter& writer, const std::function<Status()>& fn, RunTransaction run) {
  Status st = run(std::function<Status()>([&] {
    writer.Discard();
    return fn();
  }));
  st.ok() ? writer.Committed() : writer.Discard();
  return st;
}

class SqliteSession final : public SqlSession {
 public:
  explicit SqliteSession(std::unique_ptr<SqliteDb> db) : db_(std::move(db)), writer_(db_.get()) {}
  bool postgres() const override { return false; }
  std::string Describe() const override { return "sqlite:" + db_->path(); }

  Result<std::vector<SqlRow>> Query(const std::string& sql, const std::vector<std::string>& params,
                                    int64_t* changes) override {
    static const std::regex dollar(R"(\$(\d+))");
    OPAL_ASSIGN_OR_RETURN(auto q, db_->Prepare(std::regex_replace(sql, dollar, "?$1")));
    for (size_t i = 0; i < params.size(); ++i) q.Bind(static_cast<int>(i + 1), params[i]);
    std::vector<SqlRow> rows;
    while (true) {
      OPAL_ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      SqlRow r;
      for (int c = 0; c < q.Columns(); ++c) r.push_back(q.Text(c));
      rows.push_back(std::move(r));
    }
    if (changes) *changes = db_->Changes();
    return rows;
  }

  Status Transaction(const std::function<Status()>& fn) override {
    return WithWriter(writer_, fn, [&](const auto& body) { return db_->WriteTransaction(body); });
  }
  RecordWriter& writer() override { return writer_; }

 private:
  std::unique_ptr<SqliteDb> db_;
  RecordWriter writer_;
};

class PgSession final : public SqlSession {
 public:
  explicit PgSession(std::unique_ptr<PgConn> db) : db_(std::move(db)), writer_(db_.get()) {}
  bool postgres() const override { return true; }
  std::string Describe() const override { return db_->redacted(); }

  Result<std::vector<SqlRow>> Query(const std::string& sql, const std::vector<std::string>& params,
                                    int64_t* changes) override {
    OPAL_ASSIGN_OR_RETURN(auto res, db_->Exec(sql, params));
    std::vector<SqlRow> rows;
    const int cols = PQnfields(res.res.get());
    for (int i = 0; i < res.Rows(); ++i) {
      SqlRow r;
      for (int c = 0; c < cols; ++c) r.push_back(res.Text(i, c));
      rows.push_back(std::move(r));
    }
    if (changes) *changes = res.Affected();
    return rows;
  }

  Status Transaction(const std::function<Status()>& fn) override {
    return WithWriter(writer_, fn, [&](const auto& body) { return db_->Transaction(body); });
  }
  RecordWriter& writer() override { return writer_; }

 private:
  std::unique_ptr<PgConn> db_;
  RecordWriter writer_;
};

}  // namespace

Result<std::unique_ptr<SqlSession>> OpenSqlSession(std::string_view dsn) {
  OPAL_ASSIGN_OR_RETURN(Dsn d, ParseDsn(dsn));
  // Opening the record store first runs the migrations; then a connection of our own.
  if (d.backend == Backend::kSqlite) {
    OPAL_RETURN_IF_ERROR(OpenSqliteStore(d.location).status());
    OPAL_ASSIGN_OR_RETURN(auto db, SqliteDb::Open(d.location));
    return std::unique_ptr<SqlSession>(new SqliteSession(std::move(db)));
  }
  if (d.backend == Backend::kPostgres) {
    OPAL_RETURN_IF_ERROR(OpenPostgresStore(d.location).status());
    OPAL_ASSIGN_OR_RETURN(auto db, PgConn::Connect(d.location));
    return std::unique_ptr<SqlSession>(new PgSession(std::move(db)));
  }
  return Error(ErrorCode::kInvalidArgument, "the task queue needs a sqlite: or postgresql: store, not {}",
               Redact(dsn));
}

}  // namespace opal::store
