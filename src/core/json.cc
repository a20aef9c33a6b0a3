#include "opal/json.h"

namespace opal {

std::string CanonicalJson(const Json& value) {
  // dump(): no indentation, sorted keys (std::map), shortest round-trip doubles;
  // ensure_ascii=false keeps UTF-8; strict error handler rejects invalid UTF-8.
  return value.dump(-1, ' ', false, Json::error_handler_t::strict);
}

}  // namespace opal
