// Content hashing for keys (workload keys, target keys). SHA-256, so keys made on any machine
// by any version of opal agree for the same canonical text.
#pragma once

#include <string>
#include <string_view>

namespace opal {

// Lower-case hex SHA-256 of the bytes of `data` (64 characters).
std::string Sha256Hex(std::string_view data);

}  // namespace opal
