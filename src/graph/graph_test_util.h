// Test helpers: small ONNX models built in memory with the onnx protobuf API, imported through
// the real importer, and accessors for the inferred shapes and folded values.
#pragma once

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <functional>
#include <string>
#include <vector>

#include "graph/onnx_tensor.h"
#include "opal/onnx_import.h"

namespace opal::testing {

// ONNX element type numbers used by the tests.
constexpr int kF32 = onnx::TensorProto::FLOAT;
constexpr int kI64 = onnx::TensorProto::INT64;
constexpr int kI32 = onnx::TensorProto::INT32;
constexpr int kBool = onnx::TensorProto::BOOL;

class ModelBuilder {
 public:
  explicit ModelBuilder(int opset = 13) {
    model_.set_ir_version(8);
    auto* op = model_.add_opset_import();
    op->set_domain("");
    op->set_version(opset);
    model_.mutable_graph()->set_name("test");
  }

  // A graph input; a negative dim is symbolic ("N").
  ModelBuilder& Input(const std::string& name, int elem_type, const std::vector<int64_t>& dims) {
    auto* vi = model_.mutable_graph()->add_input();
    vi->set_name(name);
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(elem_type);
    auto* shape = tt->mutable_shape();
    for (int64_t d : dims) {
      if (d < 0) {
        shape->add_dim()->set_dim_param("N");
      } else {
        shape->add_dim()->set_dim_value(d);
      }
    }
    return *this;
  }

  // An initializer (a constant input of the nodes that read it).
  ModelBuilder& Init(const std::string& name, const Tensor& t) {
    *model_.mutable_graph()->add_initializer() = graph::TensorToProto(t, name);
    return *this;
  }

  // Adds a node; use the returned proto to add attributes with the Attr* helpers.
  onnx::NodeProto& Node(const std::string& op, const std::vector<std::string>& inputs,
                        const std::vector<std::string>& outputs, const std::string& domain = "") {
    auto* n = model_.mutable_graph()->add_node();
    n->set_op_type(op);
    n->set_domain(domain);
    n->set_name(op + "_" + std::to_string(model_.graph().node_size()));
    for (const auto& i : inputs) n->add_input(i);
    for (const auto& o : outputs) n->add_output(o);
    return *n;
  }

  ModelBuilder& Output(const std::string& name) {
    model_.mutable_graph()->add_output()->set_name(name);
    return *this;
  }

  onnx::ModelProto& proto() { return model_; }
  std::string Bytes() const { return model_.SerializeAsString(); }
  Result<Graph> Import(const ImportOptions& o = {}) const { return ImportOnnxBytes(Bytes(), o); }

 private:
  onnx::ModelProto model_;
};

inline onnx::AttributeProto* NewAttr(onnx::NodeProto& n, const std::string& name,
                                     onnx::AttributeProto::AttributeType type) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(type);
  return a;
}
inline void AttrInt(onnx::NodeProto& n, const std::string& name, int64_t v) {
  NewAttr(n, name, onnx::AttributeProto::INT)->set_i(v);
}
inline void AttrFloat(onnx::NodeProto& n, const std::string& name, float v) {
  NewAttr(n, name, onnx::AttributeProto::FLOAT)->set_f(v);
}
inline void AttrString(onnx::NodeProto& n, const std::string& name, const std::string& v) {
  NewAttr(n, name, onnx::AttributeProto::STRING)->set_s(v);
}
inline void AttrInts(onnx::NodeProto& n, const std::string& name, const std::vector<int64_t>& v) {
  auto* a = NewAttr(n, name, onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}
inline void AttrFloats(onnx::NodeProto& n, const std::string& name, const std::vector<float>& v) {
  auto* a = NewAttr(n, name, onnx::AttributeProto::FLOATS);
  for (float x : v) a->add_floats(x);
}
inline void AttrTensor(onnx::NodeProto& n, const std::string& name, const Tensor& t) {
  *NewAttr(n, name, onnx::AttributeProto::TENSOR)->mutable_t() = graph::TensorToProto(t, name);
}

inline const Value& Val(const Graph& g, const std::string& name) {
  auto id = g.FindValue(name);
  EXPECT_TRUE(id.has_value()) << "no value '" << name << "'";
  static const Value kNone;
  return id ? g.value(*id) : kNone;
}

// The inferred shape of a value, as "2x3" ("unknown" if not known).
inline std::string ShapeOf(const Graph& g, const std::string& name) {
  const Value& v = Val(g, name);
  return v.shape_known ? ShapeToString(v.shape) : "unknown";
}

// The folded values of a value as doubles (empty and a test failure if it was not folded).
inline std::vector<double> Folded(const Graph& g, const std::string& name) {
  const Value& v = Val(g, name);
  EXPECT_TRUE(v.constant) << "'" << name << "' was not folded";
  std::vector<double> out;
  if (!v.constant) return out;
  for (int64_t i = 0; i < v.constant->size(); ++i) out.push_back(v.constant->GetDouble(i));
  return out;
}

inline Tensor F32(const std::vector<float>& v, Shape s) {
  return Tensor::FromFloat(v, std::move(s));
}
inline Tensor I64(const std::vector<int64_t>& v, Shape s) {
  return Tensor::FromInt64(v, std::move(s));
}
// 0, 1, 2, ... as float32 of the given shape.
inline Tensor Iota(Shape s) {
  Tensor t(DType::kFloat32, std::move(s));
  for (int64_t i = 0; i < t.size(); ++i) t.SetDouble(i, static_cast<double>(i));
  return t;
}

}  // namespace opal::testing

#define OPAL_ASSERT_OK(expr)                       \
  do {                                             \
    const auto& _r = (expr);                       \
    ASSERT_TRUE(_r.ok()) << _r.status().message(); \
  } while (0)

namespace opal::testing {

// Expects `r` to have failed with `code` and a message containing `part`.
template <typename T>
void ExpectError(const Result<T>& r, ErrorCode code, const std::string& part) {
  ASSERT_FALSE(r.ok()) << "expected an error containing '" << part << "'";
  EXPECT_EQ(ErrorCodeName(r.status().code()), std::string(ErrorCodeName(code)))
      << r.status().message();
  EXPECT_NE(r.status().message().find(part), std::string::npos) << r.status().message();
}

}  // namespace opal::testing

namespace opal::testing {

// One input of a single-node test model: a constant (initializer), a graph input of a given shape
// (not constant), or omitted.
struct Arg {
  enum class Kind { kConst, kInput, kNone };
  Kind kind = Kind::kNone;
  Tensor value;
  Shape shape;
  int elem_type = kF32;
  Arg(Tensor t) : kind(Kind::kConst), value(std::move(t)) {}  // NOLINT: implicit by design
  static Arg In(Shape s, int elem_type = kF32) {
    Arg a{Tensor()};
    a.kind = Kind::kInput;
    a.shape = std::move(s);
    a.elem_type = elem_type;
    return a;
  }
  static Arg None() {
    Arg a{Tensor()};
    a.kind = Kind::kNone;
    return a;
  }
};

using AttrFn = std::function<void(onnx::NodeProto&)>;

// Imports a model with one `op` node reading inputs i0, i1, ... and writing y0 .. y<outputs-1>.
inline Result<Graph> RunOp(const std::string& op, const std::vector<Arg>& args,
                           const AttrFn& attrs = {}, int opset = 13, int outputs = 1) {
  ModelBuilder b(opset);
  std::vector<std::string> ins, outs;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string name = "i" + std::to_string(i);
    if (args[i].kind == Arg::Kind::kNone) {
      ins.push_back("");
      continue;
    }
    ins.push_back(name);
    if (args[i].kind == Arg::Kind::kConst) {
      b.Init(name, args[i].value);
    } else {
      b.Input(name, args[i].elem_type, args[i].shape);
    }
  }
  for (int i = 0; i < outputs; ++i) outs.push_back("y" + std::to_string(i));
  auto& node = b.Node(op, ins, outs);
  if (attrs) attrs(node);
  for (const auto& o : outs) b.Output(o);
  return b.Import();
}

}  // namespace opal::testing
