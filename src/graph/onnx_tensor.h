// Conversion between onnx::TensorProto and opal::Tensor (internal: exposes ONNX types).
#pragma once

#include <onnx/onnx_pb.h>

#include <string>

#include "opal/tensor.h"

namespace opal::graph {

// Converts a TensorProto. External data is read relative to `base_dir` (paths may not be
// absolute or leave that directory). Errors are kInvalidModel/kUnsupported naming the tensor.
Result<Tensor> TensorFromProto(const onnx::TensorProto& p, const std::string& base_dir);
onnx::TensorProto TensorToProto(const Tensor& t, const std::string& name);

}  // namespace opal::graph
