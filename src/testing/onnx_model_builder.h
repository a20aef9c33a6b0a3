// Test utility: builds small ONNX models in memory with the ONNX protobuf API, so tests can
// feed the real importer without files. Header-only; for tests only.
#pragma once

#include <onnx/onnx_pb.h>

#include <initializer_list>
#include <string>
#include <vector>

namespace opal::testing {

class OnnxModelBuilder {
 public:
  explicit OnnxModelBuilder(int opset = 13) {
    model_.set_ir_version(8);
    auto* op = model_.add_opset_import();
    op->set_domain("");
    op->set_version(opset);
    model_.mutable_graph()->set_name("test");
  }

  // A float32 graph input; a dim < 0 is written as the symbolic dim "d<index>".
  OnnxModelBuilder& Input(const std::string& name, std::vector<int64_t> dims, int elem_type = 1) {
    auto* vi = model_.mutable_graph()->add_input();
    vi->set_name(name);
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(elem_type);
    auto* shape = tt->mutable_shape();
    for (size_t i = 0; i < dims.size(); ++i) {
      if (dims[i] < 0) {
        shape->add_dim()->set_dim_param("d" + std::to_string(i));
      } else {
        shape->add_dim()->set_dim_value(dims[i]);
      }
    }
    return *this;
  }

  OnnxModelBuilder& Output(const std::string& name) {
    model_.mutable_graph()->add_output()->set_name(name);
    return *this;
  }

  // An initializer filled with `fill` (float32) or the given int64 values.
  OnnxModelBuilder& Initializer(const std::string& name, std::vector<int64_t> dims, float fill = 0.5f) {
    auto* t = model_.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(1);
    int64_t n = 1;
    for (int64_t d : dims) {
      t->add_dims(d);
      n *= d;
    }
    for (int64_t i = 0; i < n; ++i) t->add_float_data(fill);
    return *this;
  }
  OnnxModelBuilder& Int64Initializer(const std::string& name, std::vector<int64_t> values) {
    auto* t = model_.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(7);
    t->add_dims(static_cast<int64_t>(values.size()));
    for (int64_t v : values) t->add_int64_data(v);
    return *this;
  }

  // A node; returns it so attributes can be added with Ints()/Int()/Float()/String().
  OnnxModelBuilder& Node(const std::string& op, std::vector<std::string> inputs, std::vector<std::string> outputs,
                         const std::string& name = "") {
    last_ = model_.mutable_graph()->add_node();
    last_->set_op_type(op);
    last_->set_name(name);
    for (auto& i : inputs) last_->add_input(i);
    for (auto& o : outputs) last_->add_output(o);
    return *this;
  }
  OnnxModelBuilder& Ints(const std::string& name, std::vector<int64_t> v) {
    auto* a = last_->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
    return *this;
  }
  OnnxModelBuilder& Int(const std::string& name, int64_t v) {
    auto* a = last_->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
    return *this;
  }
  OnnxModelBuilder& Float(const std::string& name, float v) {
    auto* a = last_->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(v);
    return *this;
  }
  OnnxModelBuilder& String(const std::string& name, const std::string& v) {
    auto* a = last_->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::STRING);
    a->set_s(v);
    return *this;
  }

  onnx::ModelProto& proto() { return model_; }
  std::string Bytes() const { return model_.SerializeAsString(); }

 private:
  onnx::ModelProto model_;
  onnx::NodeProto* last_ = nullptr;
};

}  // namespace opal::testing
