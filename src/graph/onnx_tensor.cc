#include "graph/onnx_tensor.h"

#include <cstring>
#include <fstream>

namespace opal::graph {
namespace {

constexpr int64_t kMaxTensorElements = int64_t{1} << 34;

template <typename Field>
Status CheckCount(const onnx::TensorProto& p, const Field& f, int64_t n, const char* field) {
  if (static_cast<int64_t>(f.size()) != n) {
    return Error(ErrorCode::kInvalidModel, "tensor '{}': {} has {} values, its shape needs {}", p.name(),
                 field, f.size(), n);
  }
  return Status::Ok();
}

Result<std::string> ReadExternal(const onnx::TensorProto& p, const std::string& base_dir) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto& kv : p.external_data()) {
    if (kv.key() == "location") location = kv.value();
    try {
      if (kv.key() == "offset") offset = std::stoll(kv.value());
      if (kv.key() == "length") length = std::stoll(kv.value());
    } catch (...) {
      return Error(ErrorCode::kInvalidModel, "tensor '{}': bad external data {}", p.name(), kv.key());
    }
  }
  if (location.empty() || location[0] == '/' || location.find("..") != std::string::npos) {
    return Error(ErrorCode::kInvalidModel,
                 "tensor '{}': external data location '{}' must be a relative path inside the model's folder",
                 p.name(), location);
  }
  std::string path = (base_dir.empty() ? std::string(".") : base_dir) + "/" + location;
  std::ifstream f(path, std::ios::binary);
  if (!f) return Error(ErrorCode::kNotFound, "tensor '{}': cannot open external data file '{}'", p.name(), path);
  f.seekg(0, std::ios::end);
  int64_t size = f.tellg();
  if (offset < 0 || offset > size || (length >= 0 && offset + length > size)) {
    return Error(ErrorCode::kInvalidModel, "tensor '{}': external data range is outside '{}'", p.name(), path);
  }
  if (length < 0) length = size - offset;
  std::string out(static_cast<size_t>(length), '\0');
  f.seekg(offset);
  f.read(out.data(), length);
  if (!f) return Error(ErrorCode::kIo, "tensor '{}': cannot read external data from '{}'", p.name(), path);
  return out;
}

}  // namespace

Result<Tensor> TensorFromProto(const onnx::TensorProto& p, const std::string& base_dir) {
  OPAL_ASSIGN_OR_RETURN(DType dt, DTypeFromOnnx(p.data_type()));
  Shape shape;
  int64_t n = 1;
  for (int64_t d : p.dims()) {
    if (d < 0) return Error(ErrorCode::kInvalidModel, "tensor '{}' has a negative dimension {}", p.name(), d);
    if (d > 0 && n > kMaxTensorElements / d) {
      return Error(ErrorCode::kInvalidModel, "tensor '{}' is absurdly large", p.name());
    }
    n *= d;
    shape.push_back(d);
  }
  if (p.has_segment()) return Error(ErrorCode::kUnsupported, "tensor '{}' is segmented", p.name());
  Tensor t(dt, shape);
  if (dt == DType::kString) {
    OPAL_RETURN_IF_ERROR(CheckCount(p, p.string_data(), n, "string_data"));
    for (int64_t i = 0; i < n; ++i) t.strings()[static_cast<size_t>(i)] = p.string_data(static_cast<int>(i));
    return t;
  }
  const size_t bytes = static_cast<size_t>(n) * DTypeSize(dt);
  if (p.data_location() == onnx::TensorProto::EXTERNAL) {
    OPAL_ASSIGN_OR_RETURN(std::string raw, ReadExternal(p, base_dir));
    if (raw.size() != bytes) {
      return Error(ErrorCode::kInvalidModel, "tensor '{}': external data has {} bytes, expected {}", p.name(),
                   raw.size(), bytes);
    }
    if (bytes) std::memcpy(t.raw(), raw.data(), bytes);
    return t;
  }
  if (p.has_raw_data()) {
    if (p.raw_data().size() != bytes) {
      return Error(ErrorCode::kInvalidModel, "tensor '{}': raw_data has {} bytes, expected {} for {} {}",
                   p.name(), p.raw_data().size(), bytes, DTypeName(dt), ShapeToString(shape));
    }
    if (bytes) std::memcpy(t.raw(), p.raw_data().data(), bytes);
    return t;
  }
  switch (dt) {
    case DType::kFloat32:
      OPAL_RETURN_IF_ERROR(CheckCount(p, p.float_data(), n, "float_data"));
      if (n) std::memcpy(t.raw(), p.float_data().data(), bytes);
      break;
    case DType::kFloat64:
      OPAL_RETURN_IF_ERROR(CheckCount(p, p.double_data(), n, "double_data"));
      if (n) std::memcpy(t.raw(), p.double_data().data(), bytes);
      break;
    case DType::kInt64:
      OPAL_RETURN_IF_ERROR(CheckCount(p, p.int64_data(), n, "int64_data"));
      if (n) std::memcpy(t.raw(), p.int64_data().data(), bytes);
      break;
    case DType::kUInt32: case DType::kUInt64:
      OPAL_RETURN_IF_ERROR(CheckCount(p, p.uint64_data(), n, "uint64_data"));
      for (int64_t i = 0; i < n; ++i) t.SetInt(i, static_cast<int64_t>(p.uint64_data(static_cast<int>(i))));
      break;
    case DType::kFloat16: case DType::kBFloat16:
      // 16-bit floats are stored as their bit patterns in int32_data.
      OPAL_RETURN_IF_ERROR(CheckCount(p, p.int32_data(), n, "int32_data"));
      for (int64_t i = 0; i < n; ++i) {
        t.data<uint16_t>()[i] = static_cast<uint16_t>(p.int32_data(static_cast<int>(i)));
      }
      break;
    default:  // int32, int16, int8, uint16, uint8, bool
      OPAL_RETURN_IF_ERROR(CheckCount(p, p.int32_data(), n, "int32_data"));
      for (int64_t i = 0; i < n; ++i) t.SetInt(i, p.int32_data(static_cast<int>(i)));
  }
  return t;
}

onnx::TensorProto TensorToProto(const Tensor& t, const std::string& name) {
  onnx::TensorProto p;
  p.set_name(name);
  p.set_data_type(DTypeToOnnx(t.dtype()));
  for (int64_t d : t.shape()) p.add_dims(d);
  if (t.dtype() == DType::kString) {
    for (const auto& s : t.strings()) p.add_string_data(s);
  } else {
    p.set_raw_data(reinterpret_cast<const char*>(t.raw()), t.nbytes());
  }
  return p;
}

}  // namespace opal::graph
