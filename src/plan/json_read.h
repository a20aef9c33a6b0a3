// Internal helpers of the planner for reading JSON inputs with one-line errors that name the file
// and the entry. A JsonReader remembers the first error; callers check status() once.
#pragma once

#include <cstdint>
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
  // A whole number in [lo, hi] (a count: layers, GPUs, a batch). Anything else, 1e11 for an int
  // or 2.5 layers, is an error naming the field and the range, never a cast out of range.
  int64_t Count(const char* key, int64_t lo, int64_t hi);
  int64_t OptCount(const char* key, int64_t dflt, int64_t lo, int64_t hi) {
    return Has(key) ? Count(key, lo, hi) : dflt;
  }
  bool Has(const char* key) const { return j_.is_object() && j_.contains(key); }
  const Status& status() const { return status_; }

 private:
  void Fail(const std::string& msg);
  const Json& j_;
  std::string where_;
  Status status_;
};

}  // namespace opal::plan
