// libFuzzer target: any bytes given to the ONNX importer must give a Graph or a Status, never a
// crash, a hang or a sanitizer report. Built by scripts/fuzz.sh (clang, -DOPAL_FUZZ=ON).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "opal/log.h"
#include "opal/onnx_import.h"
#include "opal/tasks.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static bool quiet = [] {
    opal::log::SetLevel(opal::log::Level::kOff);
    return true;
  }();
  (void)quiet;
  opal::ImportOptions options;
  options.fold_limit_elements = 1 << 16;  // keep each input fast; the logic is the same
  auto g = opal::ImportOnnxBytes(std::string_view(reinterpret_cast<const char*>(data), size), options,
                                 /*base_dir=*/"/nonexistent", "fuzz");
  if (g.ok()) {
    // Task extraction reads every shape and attribute of the tunable nodes.
    opal::TaskList t = opal::ExtractTasks(*g);
    (void)t.ToJson().dump();
  }
  return 0;
}
