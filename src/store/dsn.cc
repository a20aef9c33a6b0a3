#include "store/dsn.h"

#include <regex>

namespace opal::store {

Result<Dsn> ParseDsn(std::string_view text) {
  const std::string s(text);
  auto bad = [&](std::string_view why) {
    return Error(ErrorCode::kInvalidArgument,
                 "store DSN '{}': {}; expected sqlite:PATH, postgresql://USER@HOST:PORT/DB or memory:", Redact(s),
                 why);
  };
  if (s.empty()) return bad("empty");
  if (s == "memory:" || s == "memory") return Dsn{Backend::kMemory, ""};
  if (s.rfind("sqlite:", 0) == 0) {
    std::string path = s.substr(7);
    if (path.rfind("//", 0) == 0) path = path.substr(2);  // sqlite://PATH
    if (path.empty()) return bad("no file path after sqlite:");
    return Dsn{Backend::kSqlite, path};
  }
  if (s.rfind("postgresql://", 0) == 0 || s.rfind("postgres://", 0) == 0) {
    const size_t rest = s.find("://") + 3;
    if (rest >= s.size()) return bad("no host or database after the scheme");
    return Dsn{Backend::kPostgres, s};
  }
  if (s.find(':') == std::string::npos) return bad("no scheme (did you mean sqlite:" + s + "?)");
  return bad("unknown scheme '" + s.substr(0, s.find(':')) + "'");
}

std::string Redact(std::string_view text) {
  static const std::regex uri_password(R"(((?:postgres|postgresql)://[^:/@?#]*):([^@/?#]*)@)");
  static const std::regex kv_password(R"((password\s*=\s*)('[^']*'|[^\s&]*))", std::regex::icase);
  std::string out = std::regex_replace(std::string(text), uri_password, "$1:***@");
  return std::regex_replace(out, kv_password, "$1***");
}

}  // namespace opal::store
