// RAII over the XGBoost C API: a dense float matrix with labels and groups, and a booster.
#pragma once

#include <xgboost/c_api.h>

#include <map>
#include <string>
#include <vector>

#include "opal/status.h"

namespace opal::costmodel {

class XgbMatrix {
 public:
  // rows x cols, row-major. NaN = missing.
  static Result<XgbMatrix> Create(const std::vector<float>& data, size_t rows, size_t cols);
  XgbMatrix(XgbMatrix&& o) noexcept : h_(o.h_) { o.h_ = nullptr; }
  XgbMatrix& operator=(XgbMatrix&&) = delete;
  ~XgbMatrix() { if (h_) XGDMatrixFree(h_); }
  Status SetLabels(const std::vector<float>& labels);
  // Sizes of consecutive row groups (for ranking objectives).
  Status SetGroups(const std::vector<unsigned>& sizes);
  DMatrixHandle handle() const { return h_; }

 private:
  explicit XgbMatrix(DMatrixHandle h) : h_(h) {}
  DMatrixHandle h_ = nullptr;
};

class XgbBooster {
 public:
  static Result<XgbBooster> Create(const XgbMatrix* train);  // train may be null (for loading)
  XgbBooster(XgbBooster&& o) noexcept : h_(o.h_) { o.h_ = nullptr; }
  XgbBooster& operator=(XgbBooster&& o) noexcept { std::swap(h_, o.h_); return *this; }
  ~XgbBooster() { if (h_) XGBoosterFree(h_); }
  Status SetParams(const std::map<std::string, std::string>& params);
  Status Train(const XgbMatrix& train, int rounds);
  Result<std::vector<float>> Predict(const XgbMatrix& m) const;
  Result<std::string> SaveJson() const;
  Status LoadJson(const std::string& json);

 private:
  explicit XgbBooster(BoosterHandle h) : h_(h) {}
  BoosterHandle h_ = nullptr;
};

}  // namespace opal::costmodel
