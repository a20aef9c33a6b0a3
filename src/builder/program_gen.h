// The program of a built model as the builder assembles it, and its C++ rendering (program.cc,
// the tables of runtime/program.h). Data only: no logic is generated.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "opal/tensor.h"

namespace opal::build {

struct ProgramSpec {
  struct TensorEntry {
    std::string name;
    int32_t onnx_dtype = 0;
    Shape dims;
    int32_t storage = 0;  // opal_rt::Storage
    int64_t offset = 0, bytes = 0;
  };
  struct ArgEntry {
    int32_t tensor = 0;
    std::vector<int64_t> extents, strides;  // Halide order
    bool operator==(const ArgEntry&) const = default;
  };
  struct StepEntry {
    int32_t kernel = 0;
    std::vector<int32_t> args;
    std::string node;
  };
  std::string description;
  std::vector<TensorEntry> tensors;
  std::vector<ArgEntry> args;
  std::vector<StepEntry> steps;
  std::vector<std::string> kernels;  // AOT function names (NAME_argv is called)
  std::vector<int32_t> inputs, outputs;
  int64_t arena_bytes = 0, weights_bytes = 0;
  uint64_t weights_hash = 0;

  // Index of an identical arg, adding it when new.
  int32_t AddArg(const ArgEntry& a);
};

// program.cc for `spec` (defines opal_program()).
std::string GenerateProgramSource(const ProgramSpec& spec);

// A C string literal for any bytes (quotes, backslashes and non-printable bytes escaped).
std::string CStringLiteral(const std::string& s);

}  // namespace opal::build
