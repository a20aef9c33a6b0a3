// ONNX element types (TensorProto.DataType numbers) as the runtime sees them: bytes per element
// and the Halide type of a kernel argument.
#pragma once

#include <HalideRuntime.h>

#include <cstdint>

namespace opal_rt {

// Bytes per element; 0 for types the runtime cannot hold (string, complex, undefined).
inline int32_t OnnxElementSize(int32_t dtype) {
  switch (dtype) {
    case 2:
    case 3:
    case 9:
      return 1;  // uint8, int8, bool
    case 4:
    case 5:
    case 10:
    case 16:
      return 2;  // uint16, int16, float16, bfloat16
    case 1:
    case 6:
    case 12:
      return 4;  // float32, int32, uint32
    case 7:
    case 11:
    case 13:
      return 8;  // int64, float64, uint64
    default:
      return 0;
  }
}

// The Halide type of an element. Precondition: OnnxElementSize(dtype) > 0.
inline halide_type_t HalideTypeOf(int32_t dtype) {
  switch (dtype) {
    case 1:
      return halide_type_t(halide_type_float, 32);
    case 2:
      return halide_type_t(halide_type_uint, 8);
    case 3:
      return halide_type_t(halide_type_int, 8);
    case 4:
      return halide_type_t(halide_type_uint, 16);
    case 5:
      return halide_type_t(halide_type_int, 16);
    case 6:
      return halide_type_t(halide_type_int, 32);
    case 7:
      return halide_type_t(halide_type_int, 64);
    case 9:
      return halide_type_t(halide_type_uint, 8);  // opal lowers bool as UInt(8) holding 0 or 1 (lower/lowering.h)
    case 10:
      return halide_type_t(halide_type_float, 16);
    case 11:
      return halide_type_t(halide_type_float, 64);
    case 12:
      return halide_type_t(halide_type_uint, 32);
    case 13:
      return halide_type_t(halide_type_uint, 64);
    case 16:
      return halide_type_t(halide_type_bfloat, 16);
    default:
      return halide_type_t(halide_type_uint, 8);
  }
}

}  // namespace opal_rt
