// CostModelRegistry: trained cost models kept in the store's database, beside the trials they
// were trained on, so every tuner, worker and builder that shares a store (one SQLite file or one
// PostgreSQL server) finds the same model by name: `--cost-model @NAME` (see LoadCostModel in
// opal/cost_model.h). The registry keeps a model's file text verbatim plus the facts a user needs
// to choose one without loading it (framework, feature version, training size, validation).
// Names are unique per store; registering an existing name is refused unless `replace` is set,
// so a model in use is never swapped silently. Every method is one transaction.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "opal/json.h"
#include "opal/status.h"

namespace opal {

struct RegisteredCostModel {
  std::string name;             // [A-Za-z0-9._-]+, at most 128 characters
  std::string framework;        // the tuning framework the model scores, e.g. "halide"
  std::string feature_version;  // models refuse features of another version
  Json meta = Json::object();   // rows, groups, targets, objective, validation scores
  std::string body;             // the model file's text (format "opal.costmodel/1"); empty from List
  std::string sha256;           // of body
  int64_t created_us = 0;
};

class CostModelRegistry {
 public:
  // Opens the store named by a sqlite: or postgresql: DSN (migrating its schema).
  static Result<std::unique_ptr<CostModelRegistry>> Open(std::string_view dsn);
  virtual ~CostModelRegistry() = default;

  // Adds `m` (sha256 and created_us are filled in). kInvalidArgument for a bad name or an empty
  // body, or when the name is taken and `replace` is false.
  virtual Status Put(const RegisteredCostModel& m, bool replace) = 0;
  // The model of that name, with its body; nullopt when absent. An empty name means the newest
  // model registered for `framework` (any framework when that is empty too).
  virtual Result<std::optional<RegisteredCostModel>> Get(const std::string& name,
                                                         const std::string& framework = "") = 0;
  // Every registered model without its body, newest first.
  virtual Result<std::vector<RegisteredCostModel>> List() = 0;
  // Removes the model; false when there was none of that name.
  virtual Result<bool> Remove(const std::string& name) = 0;
};

}  // namespace opal
