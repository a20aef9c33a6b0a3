// In-process RecordStore for unit tests: the reference semantics the other backends must match.
#pragma once

#include <memory>

#include "opal/record_store.h"

namespace opal::store {

std::unique_ptr<RecordStore> NewMemoryStore();

}  // namespace opal::store
