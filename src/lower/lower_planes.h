// Reductions of contiguous planes: every row of a tensor read as rows x plane (its trailing axes
// flattened) reduced to one value, vectorised along the plane and parallel over rows. What
// GlobalAveragePool / GlobalMaxPool and ReduceMean / ReduceSum / ReduceMax / ReduceMin over
// trailing axes compute (squeeze-excitation gates, global pooling heads); the generic reductions
// compute such small outputs with scalar code on one core.
#pragma once

#include <cstdint>

#include "lower/lower_util.h"

namespace opal::lower {

enum class PlaneOp { kSum, kMax, kMin };

// Output 0 of b's node (rows elements, in row order) = op over each row of input 0 read as
// rows x plane, times `scale` (kSum only: 1/plane for a mean). Precondition: input 0 is a
// float tensor of rows * plane elements.
Result<KernelDef> LowerPlaneReduction(KernelBuilder& b, int64_t rows, int64_t plane, PlaneOp op,
                                      double scale = 1.0);

// Whether LowerPlaneReduction takes tensors of type t (float32 and float64).
bool PlaneReductionSupports(DType t);

// Whether `reduced` (per axis) is a non-empty run of trailing axes; sets *first to its first axis.
bool ReducesTrailingAxes(const std::vector<bool>& reduced, int* first);

}  // namespace opal::lower
