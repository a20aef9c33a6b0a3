// Internal helpers of the planner for reading JSON inputs with one-line errors that name the file
// and the entry. A JsonReader remembers the first error; callers check status() once.
#pragma once

#include <string>

#include "opal/json.h"
#include "opal/status.h"

namespace opal::plan {

// Reads and parses a JSON file; `what` ("catalog", "cluster") is used in messages.
Result<Json> ReadJsonFile(const std::string& path, const std::string& what);

class JsonReader {
 public:
  JsonReader(const Json& j, std::string where) : j_(j), where_(std::move(where)) {
    if (!j_.is_object()) Fail("expected a JSON object");
  }
  void SetWhere(std::string where) { where_ = std::move(where); }
  std::string Str(const char* key);
  std::string OptStr(const char* key, const std::string& dflt);
  double Num(const char* key);
  double OptNum(const char* key, double dflt);
  double Positive(const char* key);  // > 0
  bool Has(const char* key) const { return j_.is_object() && j_.contains(key); }
  const Status& status() const { return status_; }

 private:
  void Fail(const std::string& msg);
  const Json& j_;
  std::string where_;
  Status status_;
};

}  // namespace opal::plan
