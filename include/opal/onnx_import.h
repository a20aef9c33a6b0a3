// Loading ONNX models and tensors into opal's IR.
//
// ImportOnnx* parses the protobuf with the ONNX library, then runs opal's own inference and
// constant folding over every node; for operators opal does not know, ONNX's shape inference
// (sandboxed in a child process, see graph/onnx_node_inference.h) supplies the output shapes. The result is topologically sorted; every value's dtype and shape is known,
// except downstream of an unsupported operator (Value::unknown_reason says which).
//
// Errors (all one line, naming the file, node or tensor):
//   kNotFound / kIo      the file is missing or unreadable
//   kInvalidModel        not ONNX, truncated, a cycle, a dangling input, a duplicate tensor name,
//                        an attribute of the wrong kind, shapes that do not fit an operator,
//                        a zero or absurdly large dimension on an input
//   kInvalidArgument     an input has symbolic/unknown dims other than a leading batch dim
//                        (give --input-shape), or an override names no input
//   kUnsupported         an element type or feature opal cannot represent
// Unsupported operators are not errors here: Graph::UnsupportedOps() lists them.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "opal/graph.h"
#include "opal/status.h"
#include "opal/tensor.h"

namespace opal {

struct ImportOptions {
  // Shapes for graph inputs, replacing what the model declares (symbolic dims included).
  std::map<std::string, Shape> input_shapes;
  // Graph inputs bound to constant values (their shapes come from the tensors); used by tests
  // and to fold inputs a user fixes.
  std::map<std::string, Tensor> input_values;
  // Constant folding bound: nodes with larger outputs are left for the runtime.
  int64_t fold_limit_elements = 1 << 20;
  // A symbolic first dimension of a graph input of rank 2 or more (the batch of a model exported
  // with dynamic axes) is taken as 1, with a warning, unless `input_shapes` gives the input. Any
  // other symbolic dimension needs `input_shapes` (kInvalidArgument).
  bool symbolic_batch_is_one = true;
};

Result<Graph> ImportOnnxFile(const std::string& path, const ImportOptions& options = {});
// `base_dir` resolves external tensor data; `name` is used in messages.
Result<Graph> ImportOnnxBytes(std::string_view bytes, const ImportOptions& options = {},
                              const std::string& base_dir = "", const std::string& name = "model");

// A serialized ONNX TensorProto (the backend-test `input_N.pb` / `output_N.pb` format).
// `tensor_name`, when given, receives the tensor's name.
Result<Tensor> LoadTensorProtoFile(const std::string& path, std::string* tensor_name = nullptr);
Status SaveTensorProtoFile(const std::string& path, const Tensor& tensor, const std::string& name);

}  // namespace opal
