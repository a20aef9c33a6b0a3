#include "opal/cost_model_registry.h"

#include <algorithm>

#include "opal/hash.h"
#include "opal/record.h"
#include "store/sql_session.h"

namespace opal {
namespace {

constexpr const char* kColumns = "name, framework, feature_version, meta, sha256, created_us";

bool ValidName(const std::string& n) {
  return !n.empty() && n.size() <= 128 && std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
  });
}

RegisteredCostModel FromRow(const store::SqlRow& r) {
  RegisteredCostModel m;
  m.name = r[0];
  m.framework = r[1];
  m.feature_version = r[2];
  m.meta = Json::parse(r[3], nullptr, false);
  if (m.meta.is_discarded()) m.meta = Json::object();
  m.sha256 = r[4];
  m.created_us = r[5].empty() ? 0 : std::stoll(r[5]);
  if (r.size() > 6) m.body = r[6];
  return m;
}

class SqlCostModelRegistry final : public CostModelRegistry {
 public:
  explicit SqlCostModelRegistry(std::unique_ptr<store::SqlSession> db) : db_(std::move(db)) {}

  Status Put(const RegisteredCostModel& m, bool replace) override {
    if (!ValidName(m.name)) {
      return Error(ErrorCode::kInvalidArgument,
                   "cost model name '{}' is not valid: use 1-128 letters, digits, '.', '_' or '-'", m.name);
    }
    if (m.body.empty()) return Error(ErrorCode::kInvalidArgument, "cost model '{}' has no content", m.name);
    const store::SqlParams values = {m.name,      m.framework,        m.feature_version, m.meta.dump(),
                                     Sha256Hex(m.body), NowMicros(), m.body};
    return db_->Transaction([&]() -> Status {
      OPAL_ASSIGN_OR_RETURN(auto rows, db_->Rows("SELECT name FROM cost_models WHERE name = $1", {m.name}));
      if (!rows.empty() && !replace) {
        return Error(ErrorCode::kInvalidArgument,
                     "a cost model named '{}' is already registered in {} (pass --replace to overwrite it)", m.name,
                     db_->Describe());
      }
      if (!rows.empty()) OPAL_RETURN_IF_ERROR(db_->Query("DELETE FROM cost_models WHERE name = $1", {m.name}));
      return db_->Query(
          std::string("INSERT INTO cost_models (") + kColumns + ", body) VALUES ($1, $2, $3, $4, $5, $6, $7)", values);
    });
  }

  Result<std::optional<RegisteredCostModel>> Get(const std::string& name, const std::string& framework) override {
    const std::string cols = std::string(kColumns) + ", body";
    std::vector<store::SqlRow> rows;
    OPAL_RETURN_IF_ERROR(db_->Read([&]() -> Status {
      Result<std::vector<store::SqlRow>> got =
          !name.empty()       ? db_->Rows("SELECT " + cols + " FROM cost_models WHERE name = $1", {name})
          : framework.empty() ? db_->Rows("SELECT " + cols + " FROM cost_models ORDER BY created_us DESC, name LIMIT 1")
                              : db_->Rows("SELECT " + cols +
                                              " FROM cost_models WHERE framework = $1 "
                                              "ORDER BY created_us DESC, name LIMIT 1",
                                          {framework});
      if (!got.ok()) return got.status();
      rows = std::move(*got);
      return Status::Ok();
    }));
    if (rows.empty()) return std::optional<RegisteredCostModel>();
    RegisteredCostModel m = FromRow(rows.front());
    if (Sha256Hex(m.body) != m.sha256) {
      return Error(ErrorCode::kFailed, "cost model '{}' in {} is corrupted (its content does not match its hash)",
                   m.name, db_->Describe());
    }
    return std::optional<RegisteredCostModel>(std::move(m));
  }

  Result<std::vector<RegisteredCostModel>> List() override {
    std::vector<store::SqlRow> rows;
    OPAL_RETURN_IF_ERROR(db_->Read([&]() -> Status {
      OPAL_ASSIGN_OR_RETURN(rows, db_->Rows(std::string("SELECT ") + kColumns +
                                            " FROM cost_models ORDER BY created_us DESC, name"));
      return Status::Ok();
    }));
    std::vector<RegisteredCostModel> out;
    for (const auto& r : rows) out.push_back(FromRow(r));
    return out;
  }

  Result<bool> Remove(const std::string& name) override {
    int64_t changes = 0;
    OPAL_RETURN_IF_ERROR(db_->Transaction([&]() -> Status {
      return db_->Query("DELETE FROM cost_models WHERE name = $1", {name}, nullptr, &changes);
    }));
    return changes > 0;
  }

 private:
  std::unique_ptr<store::SqlSession> db_;
};

}  // namespace

Result<std::unique_ptr<CostModelRegistry>> CostModelRegistry::Open(std::string_view dsn) {
  OPAL_ASSIGN_OR_RETURN(auto session, store::OpenSqlSession(dsn));
  return std::unique_ptr<CostModelRegistry>(new SqlCostModelRegistry(std::move(session)));
}

}  // namespace opal
