// opal's graph IR: the model after import, in topological order, with every tensor's dtype and
// shape known (or marked unknown with the reason, when it depends on an unsupported operator).
//
// Values (tensors) and nodes are addressed by dense integer ids. A Graph is a plain value type;
// it is not thread-safe for writes. Passes build new nodes through AddNode/AddValue and drop
// nodes through RemoveNodes; TopologicalSort restores the order after structural edits.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "opal/status.h"
#include "opal/tensor.h"

namespace opal {

using ValueId = int32_t;
using NodeId = int32_t;
constexpr ValueId kNoValue = -1;  // an omitted optional input

// One node attribute, as in ONNX (graph-valued attributes are kept only as a marker).
struct Attribute {
  enum class Kind { kInt, kFloat, kString, kTensor, kInts, kFloats, kStrings, kGraph, kOther };
  Kind kind = Kind::kOther;
  int64_t i = 0;
  double f = 0;
  std::string s;
  std::shared_ptr<const Tensor> t;
  std::vector<int64_t> ints;
  std::vector<double> floats;
  std::vector<std::string> strings;

  static const char* KindName(Kind k);
};

// Attributes of a node by name. Getters return the default when absent; a present attribute
// of the wrong kind is a model error the op schema reports (see graph/op_registry.h).
class Attributes {
 public:
  void Set(const std::string& name, Attribute a) { map_[name] = std::move(a); }
  bool Has(const std::string& name) const { return map_.count(name) > 0; }
  const Attribute* Find(const std::string& name) const;
  const std::map<std::string, Attribute>& all() const { return map_; }

  int64_t GetInt(const std::string& name, int64_t dflt) const;
  double GetFloat(const std::string& name, double dflt) const;
  std::string GetString(const std::string& name, const std::string& dflt) const;
  std::vector<int64_t> GetInts(const std::string& name, std::vector<int64_t> dflt = {}) const;
  std::vector<double> GetFloats(const std::string& name, std::vector<double> dflt = {}) const;

 private:
  std::map<std::string, Attribute> map_;
};

struct Value {
  std::string name;
  DType dtype = DType::kUndefined;
  Shape shape;
  bool shape_known = false;
  // Why the shape is unknown (names the unsupported operator it depends on).
  std::string unknown_reason;
  // Set for initializers, Constant outputs and values folded at import.
  std::shared_ptr<const Tensor> constant;
  NodeId producer = -1;  // -1 for graph inputs and initializers
  bool is_graph_input = false;
  bool is_graph_output = false;
  bool is_initializer = false;
};

struct Node {
  std::string name;     // unique; generated "<op>_<n>" when the model has none
  std::string op_type;  // "Conv"
  std::string domain;   // "" for the default ONNX domain
  std::vector<ValueId> inputs;  // kNoValue for omitted optional inputs
  std::vector<ValueId> outputs;
  Attributes attrs;
  bool supported = true;  // false when opal has no schema for op_type

  // "name (OpType)" for messages.
  std::string Describe() const { return "node '" + name + "' (" + op_type + ")"; }
};

class Graph {
 public:
  std::string name;
  int opset = 0;  // version of the default ONNX domain the model imports

  ValueId AddValue(Value v);
  NodeId AddNode(Node n);  // sets producer of the node's outputs

  size_t num_values() const { return values_.size(); }
  size_t num_nodes() const { return nodes_.size(); }
  const Value& value(ValueId id) const { return values_.at(static_cast<size_t>(id)); }
  Value& mutable_value(ValueId id) { return values_.at(static_cast<size_t>(id)); }
  const Node& node(NodeId id) const { return nodes_.at(static_cast<size_t>(id)); }
  Node& mutable_node(NodeId id) { return nodes_.at(static_cast<size_t>(id)); }
  const std::vector<Node>& nodes() const { return nodes_; }
  const std::vector<Value>& values() const { return values_; }

  std::optional<ValueId> FindValue(const std::string& name) const;

  std::vector<ValueId>& inputs() { return inputs_; }
  const std::vector<ValueId>& inputs() const { return inputs_; }
  std::vector<ValueId>& outputs() { return outputs_; }
  const std::vector<ValueId>& outputs() const { return outputs_; }

  // Nodes reading value `id` (each node once, in node order).
  std::vector<NodeId> Consumers(ValueId id) const;

  // Reorders nodes so every node comes after the producers of its inputs. On a cycle, returns
  // kInvalidModel naming nodes on the cycle and leaves the order unchanged.
  Status TopologicalSort();

  // Removes the given nodes (their output values stay, with producer reset to -1).
  void RemoveNodes(const std::vector<NodeId>& ids);

  // Op type -> count of nodes opal has no schema for.
  std::map<std::string, int> UnsupportedOps() const;

 private:
  std::vector<Value> values_;
  std::vector<Node> nodes_;
  std::vector<ValueId> inputs_;
  std::vector<ValueId> outputs_;
  std::map<std::string, ValueId> by_name_;
};

}  // namespace opal
