// JSON in opal is nlohmann::json. Canonical JSON is the one text form used for keys and
// storage: object keys sorted (nlohmann's default map orders them), no whitespace, numbers in
// their shortest round-trip form, UTF-8 kept as is. Two equal values always give equal text.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace opal {

using Json = nlohmann::json;

std::string CanonicalJson(const Json& value);

}  // namespace opal
