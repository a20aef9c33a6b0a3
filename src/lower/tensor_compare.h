// Comparison of a computed tensor with an expected one, for the lowering tests.
#pragma once

#include <string>

#include "opal/tensor.h"

namespace opal::lower {

// "" when `got` matches `expected`: same dtype and shape; floats within atol + rtol*|expected|
// (NaN matches NaN, infinities match exactly); integers and bools exactly. Otherwise a one-line
// description of the first difference (index, both values) and the number of differences.
std::string CompareTensors(const Tensor& got, const Tensor& expected, double atol, double rtol);

// max |got - expected| / max |expected| over float tensors of the same shape (0 when both are
// zero); a negative value when dtypes or shapes differ.
double MaxRelativeError(const Tensor& got, const Tensor& expected);

}  // namespace opal::lower
