// The analytic part of the GPU operator model (include/opal/gpu_op_model.h): the time of an
// operator on a GPU under one set of parameters, and the fit of a set per pass. Internal to
// opal_gpu_ops.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "opal/gpu_op_model.h"

namespace opal::costmodel {

// The fit's starting parameters (5 us per call, tile exponent 0.3, k0 32, 75 % of the memory
// bandwidth, 88 % of the peak, ...); also the parameters of a pass without samples.
extern const GpuOpModel::Params kStartParams;
// Names of the parameters, in order (as ToJson writes them).
extern const char* const kParamNames[GpuOpModel::kParams];

// Seconds of `op` on `g` under parameters `th`.
double AnalyticTime(const GpuOpModel::Params& th, const GpuOp& op, const GpuSpec& g);

// Parameters per pass fitted on `rows` (every GPU named must be in `gpus`): Nelder-Mead on the
// mean |log error| from several starts.
std::map<GpuOpPass, GpuOpModel::Params> FitParams(const std::vector<const GpuOpSample*>& rows,
                                                  const std::map<std::string, GpuSpec>& gpus);

}  // namespace opal::costmodel
