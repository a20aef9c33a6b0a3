// The reference models beside the checkout (../shared/models), for tests. Header-only.
#pragma once

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

namespace opal::testing {

// ../shared/models of the source tree (OPAL_SOURCE_DIR is defined for every opal_test).
inline std::string SharedModelsDir() { return OPAL_SOURCE_DIR "/../shared/models"; }

// Names of the folders there that hold a model.onnx, sorted; empty when the folder is absent.
inline std::vector<std::string> SharedModelNames() {
  namespace fs = std::filesystem;
  std::vector<std::string> out;
  if (!fs::is_directory(SharedModelsDir())) return out;
  for (const auto& e : fs::directory_iterator(SharedModelsDir()))
    if (fs::exists(e.path() / "model.onnx")) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace opal::testing
