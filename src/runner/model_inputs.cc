#include "opal/model_inputs.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <random>

#include "opal/onnx_import.h"

namespace opal::runtime {
namespace {

// Uniform on [-1, 1) with `bits` of resolution, exactly representable in a type whose
// significand has at least `bits` bits.
double UniformSigned(std::mt19937_64& rng, int bits) {
  const uint64_t k = rng() >> (64 - bits);
  return -1.0 + std::ldexp(static_cast<double>(k), 1 - bits);
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string Names(const std::vector<ModelTensorInfo>& inputs) {
  std::string s;
  for (const auto& i : inputs) s += (s.empty() ? "" : ", ") + i.name;
  return s.empty() ? "none" : s;
}

}  // namespace

Result<std::vector<InputSpec>> ParseInputSpecs(const std::vector<std::string>& specs) {
  std::vector<InputSpec> out;
  for (const std::string& s : specs) {
    InputSpec spec;
    const size_t eq = s.find('=');
    if (eq == std::string::npos) {
      spec.file = s;
    } else {
      spec.name = s.substr(0, eq);
      spec.file = s.substr(eq + 1);
    }
    if (spec.file.empty() || (eq != std::string::npos && spec.name.empty())) {
      return Error(ErrorCode::kInvalidArgument, "--input '{}': give NAME=FILE.pb or FILE.pb", s);
    }
    out.push_back(std::move(spec));
  }
  return out;
}

Tensor RandomInput(const ModelTensorInfo& info, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Tensor t(info.dtype, info.shape);
  const int64_t n = t.size();
  int bits = 0;
  switch (info.dtype) {
    case DType::kFloat32:
      bits = 24;
      break;
    case DType::kFloat64:
      bits = 53;
      break;
    case DType::kFloat16:
      bits = 11;
      break;
    case DType::kBFloat16:
      bits = 8;
      break;
    default:
      break;
  }
  if (bits) {
    for (int64_t i = 0; i < n; ++i) t.SetDouble(i, UniformSigned(rng, bits));
  } else if (info.dtype != DType::kBool && Lower(info.name).find("mask") != std::string::npos) {
    for (int64_t i = 0; i < n; ++i) t.SetInt(i, 1);
  } else {
    for (int64_t i = 0; i < n; ++i) t.SetInt(i, static_cast<int64_t>(rng() >> 63));
  }
  return t;
}

Result<PreparedInputs> PrepareInputs(const std::vector<ModelTensorInfo>& inputs,
                                     const std::vector<InputSpec>& specs, uint64_t seed) {
  PreparedInputs p;
  p.tensors.resize(inputs.size());
  p.files.resize(inputs.size());
  std::vector<bool> given(inputs.size(), false);
  for (const InputSpec& spec : specs) {
    std::string stored;
    OPAL_ASSIGN_OR_RETURN(Tensor t, LoadTensorProtoFile(spec.file, &stored));
    const std::string name = spec.name.empty() ? stored : spec.name;
    if (name.empty()) {
      return Error(ErrorCode::kInvalidArgument,
                   "{} holds an unnamed tensor: give it as --input NAME={}", spec.file, spec.file);
    }
    if (!stored.empty() && stored != name) {
      return Error(ErrorCode::kInvalidArgument,
                   "{} holds tensor '{}', not input '{}': check which file goes to which input",
                   spec.file, stored, name);
    }
    auto it = std::find_if(inputs.begin(), inputs.end(),
                           [&](const ModelTensorInfo& i) { return i.name == name; });
    if (it == inputs.end()) {
      return Error(ErrorCode::kInvalidArgument, "the model has no input '{}' (its inputs: {})",
                   name, Names(inputs));
    }
    const size_t k = static_cast<size_t>(it - inputs.begin());
    if (given[k]) return Error(ErrorCode::kInvalidArgument, "input '{}' is given twice", name);
    if (t.dtype() != it->dtype || t.shape() != it->shape) {
      return Error(ErrorCode::kInvalidArgument,
                   "input '{}' from {} is {} {}, the model takes {} {}", name, spec.file,
                   DTypeName(t.dtype()), ShapeToString(t.shape()), DTypeName(it->dtype),
                   ShapeToString(it->shape));
    }
    given[k] = true;
    p.tensors[k] = std::move(t);
    p.files[k] = spec.file;
  }
  for (size_t k = 0; k < inputs.size(); ++k) {
    if (!given[k]) p.tensors[k] = RandomInput(inputs[k], seed + k);
  }
  return p;
}

}  // namespace opal::runtime
