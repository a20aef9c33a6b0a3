#include "builder/model_import.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "opal/log.h"
#include "opal/onnx_import.h"
#include "runtime/weights_file.h"

namespace opal::build {

Tensor RandomWeight(const std::string& name, DType dtype, const Shape& shape) {
  Tensor t(dtype, shape);
  if (dtype != DType::kFloat32) return t;
  std::mt19937_64 rng(opal_rt::Fnv1a64(name.data(), name.size()));
  float lo = -0.1f, hi = 0.1f;
  auto ends_with = [&](const std::string& s) {
    return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
  };
  if (shape.size() >= 2) {
    int64_t fan_in = 1;
    for (size_t i = 1; i < shape.size(); ++i) fan_in *= shape[i];
    hi = 1.f / std::sqrt(static_cast<float>(std::max<int64_t>(fan_in, 1)));
    lo = -hi;
  } else if (ends_with("weight") || ends_with("gamma")) {
    lo = 0.5f;
    hi = 1.5f;
  }
  std::uniform_real_distribution<float> u(lo, hi);
  float* d = t.data<float>();
  for (int64_t i = 0; i < t.size(); ++i) d[i] = u(rng);
  return t;
}

Result<ImportedModel> ImportForBuild(const std::string& path, const std::map<std::string, Shape>& input_shapes,
                                     const std::vector<std::string>& runtime_inputs) {
  ImportOptions io;
  io.input_shapes = input_shapes;
  OPAL_ASSIGN_OR_RETURN(Graph g, ImportOnnxFile(path, io));
  bool has_initializers = std::any_of(g.values().begin(), g.values().end(),
                                      [](const Value& v) { return v.is_initializer; });
  std::vector<ValueId> keep;
  if (!runtime_inputs.empty()) {
    for (const std::string& name : runtime_inputs) {
      auto id = g.FindValue(name);
      if (!id || !g.value(*id).is_graph_input)
        return Error(ErrorCode::kInvalidArgument, "--input {}: the model has no graph input of that name", name);
      keep.push_back(*id);
    }
  } else if (!has_initializers && g.inputs().size() > 1) {
    keep.push_back(g.inputs()[0]);
  } else {
    return ImportedModel{std::move(g), {}};
  }
  ImportedModel m;
  for (ValueId id : g.inputs()) {
    if (std::find(keep.begin(), keep.end(), id) != keep.end()) continue;
    const Value& v = g.value(id);
    if (!v.shape_known)
      return Error(ErrorCode::kInvalidArgument, "parameter input '{}' has an unknown shape; give --input-shape",
                   v.name);
    io.input_values[v.name] = RandomWeight(v.name, v.dtype, v.shape);
    m.random_weights.push_back(v.name);
  }
  if (!m.random_weights.empty()) {
    log::Warn("{}: {} parameters are graph inputs without values; they get deterministic random weights "
              "(name the runtime inputs with --input to change which inputs stay inputs)",
              path, m.random_weights.size());
  }
  OPAL_ASSIGN_OR_RETURN(m.graph, ImportOnnxFile(path, io));
  return m;
}

}  // namespace opal::build
