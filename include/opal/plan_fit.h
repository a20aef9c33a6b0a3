// Fitting the cost model's free coefficients on measured runs, and judging the fit on runs it was
// not fitted on (leave-one-out). The memory model has three kinds of free coefficients
// (MemoryCoefficients): a scale on the activation estimate, extra bytes per parameter beyond the
// optimizer state, and a reserve per GPU type. The time model has none fitted on runs: its layer
// times are measured (profiles) or calibrated on layers (roofline), its links measured.
#pragma once

#include <string>
#include <vector>

#include "opal/plan.h"

namespace opal::plan {

// One measured run: the memory parts of each of its GPU groups and the measured peak (the
// largest over its GPUs), bytes.
struct MemoryObservation {
  std::string name;
  std::vector<MemoryParts> gpus;
  double measured = 0;
};

// Peak bytes over the observation's GPUs under `k` (GPU types without a reserve in `k` take
// `default_reserve`), each GPU's no more than its capacity (the run happened).
double PredictPeakMemory(const MemoryObservation& o, const MemoryCoefficients& k,
                         double default_reserve);

// Least squares on relative errors of the predicted peaks: activation scale, extra bytes per
// parameter and one reserve per GPU type whose GPUs hold some observation's peak (alternating
// with which GPU holds each peak until that settles). Coefficients stay >= 0 (the scale > 0).
// kInvalidArgument when there are fewer observations than coefficients.
Result<MemoryCoefficients> FitMemoryCoefficients(const std::vector<MemoryObservation>& obs,
                                                 double default_reserve);

// For each observation, its peak predicted by coefficients fitted on all the others.
// kInvalidArgument as FitMemoryCoefficients for any of the fits.
Result<std::vector<double>> LeaveOneOutMemory(const std::vector<MemoryObservation>& obs,
                                              double default_reserve);

// The coefficients as data/catalog/memory.json reads them (LoadMemoryCoefficients).
Json MemoryCoefficientsToJson(const MemoryCoefficients& k);

}  // namespace opal::plan
