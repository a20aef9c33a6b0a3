// Inputs for a built model (`opal run`): tensors from TensorProto files, or deterministic random
// data for the inputs not given.
//
// Random data: input i (in the model's order) draws from std::mt19937_64 seeded with seed + i, so
// one input's data does not depend on which others were given. Floats are uniform on [-1, 1)
// (exact in the input's type); integers are uniform on {0, 1} -- valid as token ids, type ids or
// indices for any vocabulary or dimension of at least 2 -- except inputs whose name contains
// "mask", which are all 1 (attend everywhere); bools are uniform on {false, true}.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "opal/status.h"
#include "opal/tensor.h"
#include "opal/model_library.h"

namespace opal::runtime {

// "--input NAME=FILE.pb", or "FILE.pb" (the name then comes from the file's tensor).
struct InputSpec {
  std::string name;
  std::string file;
};
Result<std::vector<InputSpec>> ParseInputSpecs(const std::vector<std::string>& specs);

struct PreparedInputs {
  std::vector<Tensor> tensors;     // in the model's input order
  std::vector<std::string> files;  // the file each came from; "" for random data
};

// kInvalidArgument: a name the model does not take, an input given twice, a file whose tensor
// has another name, dtype or shape than the model's input. kNotFound/kIo/kInvalidModel: the
// file cannot be read (LoadTensorProtoFile's error).
Result<PreparedInputs> PrepareInputs(const std::vector<ModelTensorInfo>& inputs,
                                     const std::vector<InputSpec>& specs, uint64_t seed = 0);

// The random data described above, for one input.
Tensor RandomInput(const ModelTensorInfo& info, uint64_t seed);

}  // namespace opal::runtime
