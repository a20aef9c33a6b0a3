#include "costmodel/xgb.h"

#include <cmath>

namespace opal::costmodel {
namespace {

Status Check(int rc, const char* what) {
  if (rc == 0) return Status::Ok();
  return Error(ErrorCode::kInternal, "XGBoost {}: {}", what, XGBGetLastError());
}

}  // namespace

Result<XgbMatrix> XgbMatrix::Create(const std::vector<float>& data, size_t rows, size_t cols) {
  DMatrixHandle h = nullptr;
  OPAL_RETURN_IF_ERROR(Check(XGDMatrixCreateFromMat(data.data(), rows, cols, NAN, &h), "matrix"));
  return XgbMatrix(h);
}

Status XgbMatrix::SetLabels(const std::vector<float>& labels) {
  return Check(XGDMatrixSetFloatInfo(h_, "label", labels.data(), labels.size()), "labels");
}

Status XgbMatrix::SetGroups(const std::vector<unsigned>& sizes) {
  return Check(XGDMatrixSetUIntInfo(h_, "group", sizes.data(), sizes.size()), "groups");
}

Result<XgbBooster> XgbBooster::Create(const XgbMatrix* train) {
  BoosterHandle h = nullptr;
  DMatrixHandle m = train ? train->handle() : nullptr;
  OPAL_RETURN_IF_ERROR(Check(XGBoosterCreate(train ? &m : nullptr, train ? 1 : 0, &h), "booster"));
  return XgbBooster(h);
}

Status XgbBooster::SetParams(const std::map<std::string, std::string>& params) {
  for (const auto& [k, v] : params) OPAL_RETURN_IF_ERROR(Check(XGBoosterSetParam(h_, k.c_str(), v.c_str()), k.c_str()));
  return Status::Ok();
}

Status XgbBooster::Train(const XgbMatrix& train, int rounds) {
  for (int i = 0; i < rounds; ++i) OPAL_RETURN_IF_ERROR(Check(XGBoosterUpdateOneIter(h_, i, train.handle()), "training"));
  return Status::Ok();
}

Result<std::vector<float>> XgbBooster::Predict(const XgbMatrix& m) const {
  bst_ulong len = 0;
  const float* out = nullptr;
  OPAL_RETURN_IF_ERROR(Check(XGBoosterPredict(h_, m.handle(), 0, 0, 0, &len, &out), "prediction"));
  return std::vector<float>(out, out + len);
}

Result<std::string> XgbBooster::SaveJson() const {
  bst_ulong len = 0;
  const char* buf = nullptr;
  OPAL_RETURN_IF_ERROR(Check(XGBoosterSaveModelToBuffer(h_, R"({"format": "json"})", &len, &buf), "save"));
  return std::string(buf, len);
}

Status XgbBooster::LoadJson(const std::string& json) {
  return Check(XGBoosterLoadModelFromBuffer(h_, json.data(), json.size()), "load");
}

}  // namespace opal::costmodel
