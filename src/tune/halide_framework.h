// The Halide tuning framework ("halide"): the contraction template (contraction.h) for fp32
// dense, batch_matmul and non-depthwise conv2d on CPU targets, its schedule space
// (contraction_space.h), sandboxed measurement against the reference kernels, and the cost-model
// features of a config. Reached through MakeTuningFramework("halide").
#pragma once

#include <memory>

#include "opal/tuning_framework.h"

namespace opal {

std::unique_ptr<TuningFramework> MakeHalideFramework();

}  // namespace opal
