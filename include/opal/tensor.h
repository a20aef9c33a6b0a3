// Element types, shapes and constant tensors (initializers, folded constants, test data).
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "opal/status.h"

namespace opal {

// Element types. The numbering is opal's own; conversion to and from ONNX is explicit.
enum class DType : uint8_t {
  kUndefined = 0,
  kFloat32, kFloat64, kFloat16, kBFloat16,
  kInt8, kInt16, kInt32, kInt64,
  kUInt8, kUInt16, kUInt32, kUInt64,
  kBool, kString,
};

const char* DTypeName(DType t);       // "float32", "int64", ...
Result<DType> DTypeFromName(const std::string& name);
size_t DTypeSize(DType t);            // bytes per element; 0 for kString / kUndefined
bool IsFloat(DType t);                // float32/64/16, bfloat16
bool IsInteger(DType t);              // signed or unsigned integers (not bool)
// ONNX TensorProto.DataType numbers (stable across ONNX versions). Complex and 8-bit float types
// are kUnsupported.
Result<DType> DTypeFromOnnx(int onnx_type);
int DTypeToOnnx(DType t);

// Dimensions of a tensor, outermost first. A scalar has rank 0.
using Shape = std::vector<int64_t>;

// Product of the dimensions (1 for a scalar). Precondition: all dims >= 0.
int64_t NumElements(const Shape& shape);
// "1x3x224x224"; "scalar" for rank 0.
std::string ShapeToString(const Shape& shape);
// Parses "1x3x224x224" (or "1,3,224,224"); dims must be positive.
Result<Shape> ParseShape(const std::string& text);

// A dense, row-major tensor that owns its bytes. Value type (copies copy the data);
// share large constants through std::shared_ptr<const Tensor>.
class Tensor {
 public:
  Tensor() = default;
  // Zero-filled. Precondition: dtype has a fixed size (not kString).
  Tensor(DType dtype, Shape shape);

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t size() const { return NumElements(shape_); }
  size_t nbytes() const { return bytes_.size(); }
  const uint8_t* raw() const { return bytes_.data(); }
  uint8_t* raw() { return bytes_.data(); }

  // Typed element access; T must match dtype (checked).
  template <typename T>
  T* data() {
    CheckType(sizeof(T));
    return reinterpret_cast<T*>(bytes_.data());
  }
  template <typename T>
  const T* data() const {
    CheckType(sizeof(T));
    return reinterpret_cast<const T*>(bytes_.data());
  }

  // Strings (dtype kString only).
  std::vector<std::string>& strings() { return strings_; }
  const std::vector<std::string>& strings() const { return strings_; }

  // Element i converted to int64 / double, for any numeric or bool dtype.
  int64_t GetInt(int64_t i) const;
  double GetDouble(int64_t i) const;
  // Stores v converted to the dtype (rounding to nearest for integers is the caller's job).
  void SetDouble(int64_t i, double v);
  void SetInt(int64_t i, int64_t v);
  std::vector<int64_t> ToInt64Vector() const;

  static Tensor FromInt64(const std::vector<int64_t>& values, Shape shape);
  static Tensor FromFloat(const std::vector<float>& values, Shape shape);
  static Tensor Scalar(DType dtype, double value);

  // Same dtype, new shape with the same element count (precondition).
  Tensor Reshaped(Shape shape) const;

 private:
  void CheckType(size_t elem_size) const;

  DType dtype_ = DType::kUndefined;
  Shape shape_;
  std::vector<uint8_t> bytes_;
  std::vector<std::string> strings_;
};

// IEEE half and bfloat16 conversions (round to nearest even).
float HalfToFloat(uint16_t h);
uint16_t FloatToHalf(float f);
float BFloat16ToFloat(uint16_t b);
uint16_t FloatToBFloat16(float f);

}  // namespace opal
