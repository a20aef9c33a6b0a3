// JSON in opal is nlohmann::json. Canonical JSON is the one text form used for keys and
// storage: object keys sorted (nlohmann's default map orders them), no whitespace, numbers in
// their shortest round-trip form, UTF-8 kept as is. Two equal values always give equal text.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace opal {

using Json = nlohmann::json;

std::string CanonicalJson(const Json& value);

// True when `text` is well-formed UTF-8 (no overlong forms, surrogates or code points > U+10FFFF).
// Strings read from files must pass before they reach JSON output, which rejects invalid UTF-8.
bool IsValidUtf8(std::string_view text);

}  // namespace opal
