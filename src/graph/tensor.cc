#include "opal/tensor.h"

#include <cmath>
#include <limits>

namespace opal {

const char* DTypeName(DType t) {
  switch (t) {
    case DType::kUndefined: return "undefined";
    case DType::kFloat32: return "float32";
    case DType::kFloat64: return "float64";
    case DType::kFloat16: return "float16";
    case DType::kBFloat16: return "bfloat16";
    case DType::kInt8: return "int8";
    case DType::kInt16: return "int16";
    case DType::kInt32: return "int32";
    case DType::kInt64: return "int64";
    case DType::kUInt8: return "uint8";
    case DType::kUInt16: return "uint16";
    case DType::kUInt32: return "uint32";
    case DType::kUInt64: return "uint64";
    case DType::kBool: return "bool";
    case DType::kString: return "string";
  }
  return "undefined";
}

Result<DType> DTypeFromName(const std::string& name) {
  for (int i = 1; i <= static_cast<int>(DType::kString); ++i) {
    if (name == DTypeName(static_cast<DType>(i))) return static_cast<DType>(i);
  }
  return Error(ErrorCode::kInvalidArgument, "unknown element type '{}'", name);
}

size_t DTypeSize(DType t) {
  switch (t) {
    case DType::kFloat64: case DType::kInt64: case DType::kUInt64: return 8;
    case DType::kFloat32: case DType::kInt32: case DType::kUInt32: return 4;
    case DType::kFloat16: case DType::kBFloat16: case DType::kInt16: case DType::kUInt16: return 2;
    case DType::kInt8: case DType::kUInt8: case DType::kBool: return 1;
    case DType::kString: case DType::kUndefined: return 0;
  }
  return 0;
}

bool IsFloat(DType t) {
  return t == DType::kFloat32 || t == DType::kFloat64 || t == DType::kFloat16 || t == DType::kBFloat16;
}

bool IsInteger(DType t) {
  switch (t) {
    case DType::kInt8: case DType::kInt16: case DType::kInt32: case DType::kInt64:
    case DType::kUInt8: case DType::kUInt16: case DType::kUInt32: case DType::kUInt64: return true;
    default: return false;
  }
}

Result<DType> DTypeFromOnnx(int onnx_type) {
  switch (onnx_type) {
    case 1: return DType::kFloat32;
    case 2: return DType::kUInt8;
    case 3: return DType::kInt8;
    case 4: return DType::kUInt16;
    case 5: return DType::kInt16;
    case 6: return DType::kInt32;
    case 7: return DType::kInt64;
    case 8: return DType::kString;
    case 9: return DType::kBool;
    case 10: return DType::kFloat16;
    case 11: return DType::kFloat64;
    case 12: return DType::kUInt32;
    case 13: return DType::kUInt64;
    case 16: return DType::kBFloat16;
    case 14: case 15: return Error(ErrorCode::kUnsupported, "complex element types are not supported");
    default: return Error(ErrorCode::kUnsupported, "element type {} is not supported", onnx_type);
  }
}

int DTypeToOnnx(DType t) {
  switch (t) {
    case DType::kFloat32: return 1;
    case DType::kUInt8: return 2;
    case DType::kInt8: return 3;
    case DType::kUInt16: return 4;
    case DType::kInt16: return 5;
    case DType::kInt32: return 6;
    case DType::kInt64: return 7;
    case DType::kString: return 8;
    case DType::kBool: return 9;
    case DType::kFloat16: return 10;
    case DType::kFloat64: return 11;
    case DType::kUInt32: return 12;
    case DType::kUInt64: return 13;
    case DType::kBFloat16: return 16;
    case DType::kUndefined: return 0;
  }
  return 0;
}

int64_t NumElements(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string ShapeToString(const Shape& shape) {
  if (shape.empty()) return "scalar";
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? "x" : "") + std::to_string(shape[i]);
  return s;
}

Result<Shape> ParseShape(const std::string& text) {
  Shape out;
  std::string cur;
  auto flush = [&]() -> Status {
    if (cur.empty() || cur.size() > 12 || cur.find_first_not_of("0123456789") != std::string::npos) {
      return Error(ErrorCode::kInvalidArgument,
                   "bad shape '{}': expected positive integers separated by 'x', e.g. 1x3x224x224", text);
    }
    int64_t d = std::stoll(cur);
    if (d <= 0) return Error(ErrorCode::kInvalidArgument, "bad shape '{}': dimensions must be positive", text);
    out.push_back(d);
    cur.clear();
    return Status::Ok();
  };
  for (char c : text) {
    if (c == 'x' || c == ',') {
      OPAL_RETURN_IF_ERROR(flush());
    } else {
      cur.push_back(c);
    }
  }
  OPAL_RETURN_IF_ERROR(flush());
  return out;
}

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
  if (dtype_ == DType::kString) {
    strings_.resize(static_cast<size_t>(NumElements(shape_)));
  } else {
    OPAL_CHECK(DTypeSize(dtype_) > 0, "tensor of dtype {}", DTypeName(dtype_));
    bytes_.assign(static_cast<size_t>(NumElements(shape_)) * DTypeSize(dtype_), 0);
  }
}

void Tensor::CheckType(size_t elem_size) const {
  OPAL_CHECK(elem_size == DTypeSize(dtype_), "typed access of size {} to {} tensor", elem_size,
             DTypeName(dtype_));
}

int64_t Tensor::GetInt(int64_t i) const {
  const uint8_t* p = bytes_.data() + i * DTypeSize(dtype_);
  switch (dtype_) {
    case DType::kInt8: return *reinterpret_cast<const int8_t*>(p);
    case DType::kInt16: return *reinterpret_cast<const int16_t*>(p);
    case DType::kInt32: return *reinterpret_cast<const int32_t*>(p);
    case DType::kInt64: return *reinterpret_cast<const int64_t*>(p);
    case DType::kUInt8: case DType::kBool: return *p;
    case DType::kUInt16: return *reinterpret_cast<const uint16_t*>(p);
    case DType::kUInt32: return *reinterpret_cast<const uint32_t*>(p);
    case DType::kUInt64: return static_cast<int64_t>(*reinterpret_cast<const uint64_t*>(p));
    default: {
      double d = GetDouble(i);
      if (!std::isfinite(d)) return 0;
      return static_cast<int64_t>(d);
    }
  }
}

double Tensor::GetDouble(int64_t i) const {
  const uint8_t* p = bytes_.data() + i * DTypeSize(dtype_);
  switch (dtype_) {
    case DType::kFloat32: return *reinterpret_cast<const float*>(p);
    case DType::kFloat64: return *reinterpret_cast<const double*>(p);
    case DType::kFloat16: return HalfToFloat(*reinterpret_cast<const uint16_t*>(p));
    case DType::kBFloat16: return BFloat16ToFloat(*reinterpret_cast<const uint16_t*>(p));
    case DType::kUInt64: return static_cast<double>(*reinterpret_cast<const uint64_t*>(p));
    case DType::kString: case DType::kUndefined: OPAL_CHECK(false, "numeric read of {}", DTypeName(dtype_));
    default: return static_cast<double>(GetInt(i));
  }
}

void Tensor::SetDouble(int64_t i, double v) {
  uint8_t* p = bytes_.data() + i * DTypeSize(dtype_);
  switch (dtype_) {
    case DType::kFloat32: *reinterpret_cast<float*>(p) = static_cast<float>(v); return;
    case DType::kFloat64: *reinterpret_cast<double*>(p) = v; return;
    case DType::kFloat16: *reinterpret_cast<uint16_t*>(p) = FloatToHalf(static_cast<float>(v)); return;
    case DType::kBFloat16: *reinterpret_cast<uint16_t*>(p) = FloatToBFloat16(static_cast<float>(v)); return;
    case DType::kBool: *p = v != 0.0; return;
    default: {
      // Float to integer conversion truncates toward zero, as C and ONNX Cast do; out-of-range
      // and NaN values saturate to 0 instead of being undefined behaviour.
      int64_t iv = 0;
      if (std::isfinite(v) && v > -9.2e18 && v < 9.2e18) iv = static_cast<int64_t>(v);
      SetInt(i, iv);
    }
  }
}

void Tensor::SetInt(int64_t i, int64_t v) {
  uint8_t* p = bytes_.data() + i * DTypeSize(dtype_);
  switch (dtype_) {
    case DType::kInt8: *reinterpret_cast<int8_t*>(p) = static_cast<int8_t>(v); return;
    case DType::kInt16: *reinterpret_cast<int16_t*>(p) = static_cast<int16_t>(v); return;
    case DType::kInt32: *reinterpret_cast<int32_t*>(p) = static_cast<int32_t>(v); return;
    case DType::kInt64: *reinterpret_cast<int64_t*>(p) = v; return;
    case DType::kUInt8: *p = static_cast<uint8_t>(v); return;
    case DType::kBool: *p = v != 0; return;
    case DType::kUInt16: *reinterpret_cast<uint16_t*>(p) = static_cast<uint16_t>(v); return;
    case DType::kUInt32: *reinterpret_cast<uint32_t*>(p) = static_cast<uint32_t>(v); return;
    case DType::kUInt64: *reinterpret_cast<uint64_t*>(p) = static_cast<uint64_t>(v); return;
    default: SetDouble(i, static_cast<double>(v));
  }
}

std::vector<int64_t> Tensor::ToInt64Vector() const {
  std::vector<int64_t> out(static_cast<size_t>(size()));
  for (int64_t i = 0; i < size(); ++i) out[i] = GetInt(i);
  return out;
}

Tensor Tensor::FromInt64(const std::vector<int64_t>& values, Shape shape) {
  Tensor t(DType::kInt64, std::move(shape));
  OPAL_CHECK(static_cast<int64_t>(values.size()) == t.size());
  if (!values.empty()) std::memcpy(t.raw(), values.data(), values.size() * 8);
  return t;
}

Tensor Tensor::FromFloat(const std::vector<float>& values, Shape shape) {
  Tensor t(DType::kFloat32, std::move(shape));
  OPAL_CHECK(static_cast<int64_t>(values.size()) == t.size());
  if (!values.empty()) std::memcpy(t.raw(), values.data(), values.size() * 4);
  return t;
}

Tensor Tensor::Scalar(DType dtype, double value) {
  Tensor t(dtype, {});
  t.SetDouble(0, value);
  return t;
}

Tensor Tensor::Reshaped(Shape shape) const {
  OPAL_CHECK(NumElements(shape) == size());
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

float HalfToFloat(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while (!(mant & 0x400));
      bits = sign | ((127 - 15 - e) << 23) | ((mant & 0x3ff) << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t FloatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t absx = x & 0x7fffffffu;
  if (absx >= 0x7f800000u) return static_cast<uint16_t>(sign | 0x7c00u | (absx > 0x7f800000u ? 0x200u : 0));
  if (absx >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // overflow to inf
  if (absx < 0x38800000u) {  // subnormal or zero in half
    float a;
    std::memcpy(&a, &absx, 4);
    // Scale so the half subnormal unit (2^-24) becomes 1, round to nearest even.
    float scaled = a * 16777216.0f;
    uint32_t m = static_cast<uint32_t>(std::nearbyint(scaled));
    return static_cast<uint16_t>(sign | m);
  }
  uint32_t mant = absx & 0x7fffffu;
  uint32_t exp = (absx >> 23) - 127 + 15;
  uint32_t h = (exp << 10) | (mant >> 13);
  uint32_t rest = mant & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;  // round to nearest even
  return static_cast<uint16_t>(sign | h);
}

float BFloat16ToFloat(uint16_t b) {
  uint32_t bits = uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t FloatToBFloat16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40);  // NaN
  uint32_t rounding = 0x7fffu + ((x >> 16) & 1u);
  return static_cast<uint16_t>((x + rounding) >> 16);
}

}  // namespace opal
