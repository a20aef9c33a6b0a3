// Importing a model for a build: which graph inputs stay runtime inputs, and deterministic random
// weights for parameters a model declares as inputs without values (exported without weights).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "opal/graph.h"
#include "opal/status.h"

namespace opal::build {

struct ImportedModel {
  Graph graph;
  std::vector<std::string> random_weights;  // graph inputs bound to random values
};

// `runtime_inputs` empty: every input stays an input, unless the model has no initializers and
// several inputs (parameters exported as inputs): then only the first one stays. Named inputs
// that do not exist are kInvalidArgument.
Result<ImportedModel> ImportForBuild(const std::string& path, const std::map<std::string, Shape>& input_shapes,
                                     const std::vector<std::string>& runtime_inputs);

// A deterministic tensor for a parameter named `name`: uniform in +-1/sqrt(fan_in) for rank >= 2
// (fan_in = product of all dims but the first), in [0.5, 1.5) for rank-1 tensors whose name ends
// in "weight" or "gamma" (normalisation scales), else in +-0.1; integers are 0.
Tensor RandomWeight(const std::string& name, DType dtype, const Shape& shape);

}  // namespace opal::build
