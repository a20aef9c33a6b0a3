// libFuzzer target for `opal db import`: any bytes, read as JSON lines, must give records or
// errors, never a crash or a sanitizer report; a record that parses goes into a store and its
// export must parse back to the same record. Built by scripts/fuzz.sh (clang, -DOPAL_FUZZ=ON).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "opal/json.h"
#include "opal/log.h"
#include "opal/record_file.h"
#include "opal/record_store.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static bool quiet = [] {
    opal::log::SetLevel(opal::log::Level::kOff);
    return true;
  }();
  (void)quiet;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<opal::Record> records;
  for (size_t pos = 0; pos <= text.size();) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    auto r = opal::ParseRecordLine(text.substr(pos, nl - pos));
    if (r.ok()) records.push_back(std::move(*r));
    pos = nl + 1;
  }
  if (records.empty()) return 0;
  auto store = opal::RecordStore::Open("memory:");
  if (!store.ok() || !(*store)->Put(records).ok()) std::abort();  // parsed records are always storable
  for (const opal::Record& r : records) {
    auto back = opal::ParseRecordLine(opal::CanonicalJson(r.ToJson()));
    if (!back.ok() || back->uid != r.uid) std::abort();  // export -> import is the identity
  }
  return 0;
}
