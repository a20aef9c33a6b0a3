// Naive reference kernels: the oracle every generated kernel is checked against. They are written
// from the operator definitions (ONNX Gemm/MatMul/Conv), not from the contraction mapping the
// templates use, so a mistake in that mapping shows up as a mismatch. Accumulation is in double.
// Operand layouts: see contraction.h (OperandsOf).
#pragma once

#include <cstdint>
#include <vector>

#include "opal/workload.h"

namespace opal::tune {

// One output element (flat row-major index into the output) and, in *abs_sum, the sum of
// |a * b| over its reduction (the scale of its rounding error).
double ReferenceElement(const Workload& w, const std::vector<const float*>& inputs,
                        int64_t out_index, double* abs_sum);

// The whole output.
void ReferenceKernel(const Workload& w, const std::vector<const float*>& inputs, float* out);

// Multiply-accumulates of one output element.
int64_t ReductionLength(const Workload& w);

}  // namespace opal::tune
