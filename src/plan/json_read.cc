#include "plan/json_read.h"

#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace opal::plan {

Result<Json> ReadJsonFile(const std::string& path, const std::string& what) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    return Error(ErrorCode::kNotFound, "{} file '{}' does not exist", what, path);
  if (std::filesystem::is_directory(path, ec))
    return Error(ErrorCode::kIo, "{} file '{}' is a directory", what, path);
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(ErrorCode::kIo, "cannot read {} file '{}'", what, path);
  std::stringstream ss;
  ss << in.rdbuf();
  Json j = Json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded())
    return Error(ErrorCode::kInvalidModel, "{} file '{}' is not valid JSON", what, path);
  return j;
}

void JsonReader::Fail(const std::string& msg) {
  if (status_.ok()) status_ = Status(ErrorCode::kInvalidModel, where_ + ": " + msg);
}

std::string JsonReader::Str(const char* key) {
  if (!Has(key) || !j_[key].is_string()) {
    Fail(fmt::format("missing text field '{}'", key));
    return "";
  }
  return j_[key].get<std::string>();
}

std::string JsonReader::OptStr(const char* key, const std::string& dflt) {
  return Has(key) ? Str(key) : dflt;
}

double JsonReader::Num(const char* key) {
  if (!Has(key) || !j_[key].is_number()) {
    Fail(fmt::format("missing number field '{}'", key));
    return 0;
  }
  return j_[key].get<double>();
}

double JsonReader::OptNum(const char* key, double dflt) { return Has(key) ? Num(key) : dflt; }

double JsonReader::Positive(const char* key) {
  double v = Num(key);
  if (status_.ok() && !(v > 0)) Fail(fmt::format("field '{}' must be > 0, got {}", key, v));
  return v;
}

int64_t JsonReader::Count(const char* key, int64_t lo, int64_t hi) {
  const double v = Num(key);
  if (!status_.ok()) return lo;
  if (!(v >= static_cast<double>(lo) && v <= static_cast<double>(hi)) || v != std::floor(v)) {
    Fail(fmt::format("field '{}' must be a whole number from {} to {}, got {}", key, lo, hi, v));
    return lo;
  }
  return static_cast<int64_t>(v);
}

}  // namespace opal::plan
