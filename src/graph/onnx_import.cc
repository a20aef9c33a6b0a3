#include "opal/onnx_import.h"

#include <onnx/onnx_pb.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "graph/onnx_node_inference.h"
#include "graph/onnx_tensor.h"
#include "graph/conv_taps.h"
#include "graph/shape_inference.h"
#include "opal/json.h"
#include "opal/log.h"

namespace opal {
namespace {

// The newest default-domain opset the ONNX library opal links (1.12) knows.
constexpr int kNewestOpset = 17;
constexpr int64_t kMaxInputDim = int64_t{1} << 31;

Result<std::string> ReadFile(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    return Error(errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo, "cannot open '{}': {}", path,
                 std::strerror(errno));
  }
  if (S_ISDIR(st.st_mode)) {
    return Error(ErrorCode::kIo, "'{}' is a directory; give the path of an .onnx file", path);
  }
  std::ifstream f(path, std::ios::binary);
  if (!f) return Error(ErrorCode::kIo, "cannot open '{}': {}", path, std::strerror(errno));
  std::stringstream ss;
  ss << f.rdbuf();
  if (f.bad()) return Error(ErrorCode::kIo, "cannot read '{}'", path);
  return ss.str();
}

std::string DimsToString(const onnx::TensorShapeProto& s) {
  std::string out;
  for (const auto& d : s.dim()) {
    if (!out.empty()) out += "x";
    out += d.has_dim_value() ? std::to_string(d.dim_value()) : d.has_dim_param() ? d.dim_param() : "?";
  }
  return out.empty() ? "scalar" : out;
}

Result<Attribute> ConvertAttribute(const onnx::AttributeProto& a, const std::string& base_dir) {
  Attribute out;
  using AP = onnx::AttributeProto;
  AP::AttributeType type = a.type();
  if (type == AP::UNDEFINED) {  // very old models: infer from the field that is set
    if (a.has_f()) type = AP::FLOAT;
    else if (a.has_i()) type = AP::INT;
    else if (a.has_s()) type = AP::STRING;
    else if (a.has_t()) type = AP::TENSOR;
    else if (a.has_g()) type = AP::GRAPH;
    else if (a.floats_size()) type = AP::FLOATS;
    else if (a.ints_size()) type = AP::INTS;
    else if (a.strings_size()) type = AP::STRINGS;
  }
  switch (type) {
    case AP::FLOAT: out.kind = Attribute::Kind::kFloat; out.f = a.f(); break;
    case AP::INT: out.kind = Attribute::Kind::kInt; out.i = a.i(); break;
    case AP::STRING: out.kind = Attribute::Kind::kString; out.s = a.s(); break;
    case AP::FLOATS:
      out.kind = Attribute::Kind::kFloats;
      out.floats.assign(a.floats().begin(), a.floats().end());
      break;
    case AP::INTS:
      out.kind = Attribute::Kind::kInts;
      out.ints.assign(a.ints().begin(), a.ints().end());
      break;
    case AP::STRINGS:
      out.kind = Attribute::Kind::kStrings;
      out.strings.assign(a.strings().begin(), a.strings().end());
      break;
    case AP::TENSOR: {
      out.kind = Attribute::Kind::kTensor;
      OPAL_ASSIGN_OR_RETURN(Tensor t, graph::TensorFromProto(a.t(), base_dir));
      out.t = std::make_shared<const Tensor>(std::move(t));
      break;
    }
    case AP::GRAPH: case AP::GRAPHS: out.kind = Attribute::Kind::kGraph; break;
    default: out.kind = Attribute::Kind::kOther; break;
  }
  return out;
}

class Importer {
 public:
  Importer(const ImportOptions& o, std::string base_dir, std::string name)
      : opts_(o), base_dir_(std::move(base_dir)), name_(std::move(name)) {}

  Result<Graph> Run(std::string_view bytes) {
    if (bytes.empty()) return Error(ErrorCode::kInvalidModel, "'{}' is empty, not an ONNX model", name_);
    if (bytes.size() > static_cast<size_t>(INT32_MAX)) {
      return Error(ErrorCode::kUnsupported,
                   "'{}' is larger than 2 GB; save the weights as ONNX external data", name_);
    }
    onnx::ModelProto model;
    if (!model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
      return Error(ErrorCode::kInvalidModel,
                   "'{}' is not a valid ONNX model (the protobuf does not parse: truncated or not ONNX)", name_);
    }
    if (!model.has_graph() || (model.graph().node_size() == 0 && model.graph().output_size() == 0)) {
      return Error(ErrorCode::kInvalidModel, "'{}' is not an ONNX model: it contains no graph", name_);
    }
    OPAL_RETURN_IF_ERROR(CheckNamesAreUtf8(model.graph()));
    g_.name = model.graph().name().empty() ? name_ : model.graph().name();
    OPAL_RETURN_IF_ERROR(ReadOpset(model));
    OPAL_RETURN_IF_ERROR(ApplyOverrides(model));
    const onnx::GraphProto& gp = model.graph();
    OPAL_RETURN_IF_ERROR(AddInitializers(gp));
    OPAL_RETURN_IF_ERROR(AddInputs(gp));
    OPAL_RETURN_IF_ERROR(AddNodes(gp));
    OPAL_RETURN_IF_ERROR(AddOutputs(gp));
    OPAL_RETURN_IF_ERROR(g_.TopologicalSort());
    graph::InferOptions io;
    io.fold_limit_elements = opts_.fold_limit_elements;
    auto fallback = [&](const Graph& g, NodeId id) -> std::vector<graph::ValueHint> {
      auto it = proto_of_.find(g.node(id).name);
      if (it == proto_of_.end()) return {};
      return graph::InferNodeWithOnnx(*it->second, g, id, g.opset);
    };
    OPAL_RETURN_IF_ERROR(graph::InferShapes(g_, io, fallback));
    OPAL_RETURN_IF_ERROR(CheckDeclaredOutputs(gp));
    graph::DropDeadConvTaps(g_);  // same outputs; every later stage sees the smaller convs
    return std::move(g_);
  }

 private:
  Status ReadOpset(const onnx::ModelProto& m) {
    for (const auto& op : m.opset_import()) {
      if (op.domain().empty() || op.domain() == "ai.onnx") g_.opset = static_cast<int>(op.version());
    }
    if (g_.opset <= 0) {
      return Error(ErrorCode::kInvalidModel, "'{}' declares no opset for the default ONNX domain", name_);
    }
    if (g_.opset > kNewestOpset) {
      log::Warn("'{}' uses opset {}, newer than the {} opal was built with; operators that changed "
                "since may be misread", name_, g_.opset, kNewestOpset);
    }
    return Status::Ok();
  }

  Status ApplyOverrides(onnx::ModelProto& m) {
    std::set<std::string> inits;
    for (const auto& t : m.graph().initializer()) inits.insert(t.name());
    std::set<std::string> seen;
    std::string names;
    for (auto& in : *m.mutable_graph()->mutable_input()) {
      if (inits.count(in.name())) continue;
      names += (names.empty() ? "" : ", ") + in.name();
      const Shape* s = nullptr;
      if (auto it = opts_.input_shapes.find(in.name()); it != opts_.input_shapes.end()) s = &it->second;
      if (auto it = opts_.input_values.find(in.name()); it != opts_.input_values.end()) s = &it->second.shape();
      if (!s) {
        // A model exported with a dynamic batch: batch 1 unless the user says otherwise.
        auto* shape = in.mutable_type()->mutable_tensor_type()->mutable_shape();
        if (opts_.symbolic_batch_is_one && in.type().tensor_type().has_shape() && shape->dim_size() >= 2 &&
            !shape->dim(0).has_dim_value()) {
          log::Warn("input '{}' has a symbolic first dimension '{}': taken as 1 (batch 1); give --input-shape "
                    "{}=DIMS for another",
                    in.name(), shape->dim(0).dim_param().empty() ? "?" : shape->dim(0).dim_param(), in.name());
          shape->mutable_dim(0)->set_dim_value(1);
        }
        continue;
      }
      seen.insert(in.name());
      auto* shape = in.mutable_type()->mutable_tensor_type()->mutable_shape();
      shape->clear_dim();
      for (int64_t d : *s) shape->add_dim()->set_dim_value(d);
    }
    for (const auto* table : {&opts_.input_shapes}) {
      for (const auto& [k, v] : *table) {
        if (!seen.count(k)) {
          return Error(ErrorCode::kInvalidArgument, "--input-shape: the model has no input '{}' (its inputs: {})",
                       k, names.empty() ? "none" : names);
        }
      }
    }
    for (const auto& [k, v] : opts_.input_values) {
      if (!seen.count(k)) return Error(ErrorCode::kInvalidArgument, "the model has no input '{}'", k);
    }
    return Status::Ok();
  }

  Status NewName(const std::string& name, const std::string& what) {
    if (name.empty()) return Error(ErrorCode::kInvalidModel, "{} has an empty name", what);
    if (g_.FindValue(name)) {
      return Error(ErrorCode::kInvalidModel, "tensor '{}' is defined twice (again as {})", name, what);
    }
    return Status::Ok();
  }

  Status AddInitializers(const onnx::GraphProto& gp) {
    for (const auto& tp : gp.initializer()) {
      OPAL_RETURN_IF_ERROR(NewName(tp.name(), "an initializer"));
      OPAL_ASSIGN_OR_RETURN(Tensor t, graph::TensorFromProto(tp, base_dir_));
      Value v;
      v.name = tp.name();
      v.dtype = t.dtype();
      v.shape = t.shape();
      v.shape_known = true;
      v.is_initializer = true;
      v.constant = std::make_shared<const Tensor>(std::move(t));
      g_.AddValue(std::move(v));
    }
    if (gp.sparse_initializer_size() > 0) {
      return Error(ErrorCode::kUnsupported, "sparse initializers are not supported");
    }
    return Status::Ok();
  }

  Status AddInputs(const onnx::GraphProto& gp) {
    for (const auto& in : gp.input()) {
      if (auto id = g_.FindValue(in.name())) {
        if (g_.value(*id).is_initializer) continue;  // an input with a default: a constant
      }
      OPAL_RETURN_IF_ERROR(NewName(in.name(), "a graph input"));
      if (!in.type().has_tensor_type()) {
        return Error(ErrorCode::kUnsupported, "input '{}' is not a tensor (sequences and maps are not supported)",
                     in.name());
      }
      const auto& tt = in.type().tensor_type();
      Value v;
      v.name = in.name();
      v.is_graph_input = true;
      auto dt = DTypeFromOnnx(tt.elem_type());
      if (!dt.ok()) return dt.status().WithContext("input '" + in.name() + "'");
      v.dtype = *dt;
      if (!tt.has_shape()) {
        return Error(ErrorCode::kInvalidArgument,
                     "input '{}' has no shape in the model; give one with --input-shape {}=DIMS (e.g. 1x3x224x224)",
                     in.name(), in.name());
      }
      for (int i = 0; i < tt.shape().dim_size(); ++i) {
        const auto& d = tt.shape().dim(i);
        if (!d.has_dim_value()) {
          return Error(ErrorCode::kInvalidArgument,
                       "input '{}' has an unknown dimension {} '{}' (shape {}); give it with --input-shape {}=DIMS",
                       in.name(), i, d.dim_param().empty() ? "?" : d.dim_param(), DimsToString(tt.shape()),
                       in.name());
        }
        // A zero dimension is an error in a declared shape, but fine in a bound (empty) value.
        const bool bound = opts_.input_values.count(in.name()) > 0;
        if (d.dim_value() < (bound ? 0 : 1) || d.dim_value() > kMaxInputDim) {
          return Error(ErrorCode::kInvalidModel,
                       "input '{}' has dimension {} of size {} (shape {}); give a real shape with --input-shape",
                       in.name(), i, d.dim_value(), DimsToString(tt.shape()));
        }
        v.shape.push_back(d.dim_value());
      }
      v.shape_known = true;
      if (auto it = opts_.input_values.find(in.name()); it != opts_.input_values.end()) {
        if (it->second.dtype() != v.dtype) {
          return Error(ErrorCode::kInvalidArgument, "value for input '{}' is {}, the model expects {}", in.name(),
                       DTypeName(it->second.dtype()), DTypeName(v.dtype));
        }
        v.constant = std::make_shared<const Tensor>(it->second);
      }
      ValueId id = g_.AddValue(std::move(v));
      g_.inputs().push_back(id);
    }
    return Status::Ok();
  }

  // ONNX strings are UTF-8; names reach JSON output and logs, so a model breaking that is rejected.
  Status CheckNamesAreUtf8(const onnx::GraphProto& gp) const {
    auto bad = [&](const std::string& s, std::string_view what) {
      return IsValidUtf8(s) ? Status::Ok()
                            : Error(ErrorCode::kInvalidModel, "'{}': {} is not valid UTF-8 (corrupted model?)",
                                    name_, what);
    };
    OPAL_RETURN_IF_ERROR(bad(gp.name(), "the graph name"));
    for (const auto& t : gp.initializer()) OPAL_RETURN_IF_ERROR(bad(t.name(), "an initializer name"));
    for (const auto& v : gp.input()) OPAL_RETURN_IF_ERROR(bad(v.name(), "a graph input name"));
    for (const auto& v : gp.output()) OPAL_RETURN_IF_ERROR(bad(v.name(), "a graph output name"));
    for (int k = 0; k < gp.node_size(); ++k) {
      const auto& np = gp.node(k);
      const std::string where = "node " + std::to_string(k);
      OPAL_RETURN_IF_ERROR(bad(np.name(), where + "'s name"));
      OPAL_RETURN_IF_ERROR(bad(np.op_type(), where + "'s op_type"));
      OPAL_RETURN_IF_ERROR(bad(np.domain(), where + "'s domain"));
      for (const auto& s : np.input()) OPAL_RETURN_IF_ERROR(bad(s, where + "'s input name"));
      for (const auto& s : np.output()) OPAL_RETURN_IF_ERROR(bad(s, where + "'s output name"));
    }
    return Status::Ok();
  }

  Status AddNodes(const onnx::GraphProto& gp) {
    std::set<std::string> node_names;
    // Outputs first: a node may read a tensor produced by a later node in file order.
    std::vector<Node> nodes(static_cast<size_t>(gp.node_size()));
    for (int k = 0; k < gp.node_size(); ++k) {
      const auto& np = gp.node(k);
      Node& n = nodes[static_cast<size_t>(k)];
      n.op_type = np.op_type();
      n.domain = np.domain();
      if (n.op_type.empty()) return Error(ErrorCode::kInvalidModel, "node {} has no op_type", k);
      n.name = np.name().empty() ? n.op_type + "_" + std::to_string(k) : np.name();
      if (!node_names.insert(n.name).second) n.name += "_" + std::to_string(k);
      node_names.insert(n.name);
      proto_of_[n.name] = &np;
      for (const auto& out : np.output()) {
        if (out.empty()) {
          n.outputs.push_back(kNoValue);
          continue;
        }
        OPAL_RETURN_IF_ERROR(NewName(out, "an output of " + n.Describe()));
        Value v;
        v.name = out;
        n.outputs.push_back(g_.AddValue(std::move(v)));
      }
      for (const auto& ap : np.attribute()) {
        auto a = ConvertAttribute(ap, base_dir_);
        if (!a.ok()) return a.status().WithContext(n.Describe() + ", attribute '" + ap.name() + "'");
        n.attrs.Set(ap.name(), std::move(a).value());
      }
    }
    for (int k = 0; k < gp.node_size(); ++k) {
      const auto& np = gp.node(k);
      Node& n = nodes[static_cast<size_t>(k)];
      for (const auto& in : np.input()) {
        if (in.empty()) {
          n.inputs.push_back(kNoValue);
          continue;
        }
        auto id = g_.FindValue(in);
        if (!id) {
          return Error(ErrorCode::kInvalidModel,
                       "{} reads tensor '{}', which no node, graph input or initializer provides", n.Describe(),
                       in);
        }
        n.inputs.push_back(*id);
      }
    }
    for (auto& n : nodes) g_.AddNode(std::move(n));
    return Status::Ok();
  }

  Status AddOutputs(const onnx::GraphProto& gp) {
    if (gp.output_size() == 0) return Error(ErrorCode::kInvalidModel, "the graph has no outputs");
    for (const auto& out : gp.output()) {
      auto id = g_.FindValue(out.name());
      if (!id) {
        return Error(ErrorCode::kInvalidModel, "graph output '{}' is not produced by any node", out.name());
      }
      g_.mutable_value(*id).is_graph_output = true;
      g_.outputs().push_back(*id);
    }
    return Status::Ok();
  }

  // A declared, fully known output shape must match what the computation gives.
  Status CheckDeclaredOutputs(const onnx::GraphProto& gp) {
    for (int i = 0; i < gp.output_size(); ++i) {
      const auto& out = gp.output(i);
      const Value& v = g_.value(g_.outputs()[static_cast<size_t>(i)]);
      if (!v.shape_known || !out.type().tensor_type().has_shape()) continue;
      const auto& s = out.type().tensor_type().shape();
      bool concrete = true;
      Shape declared;
      for (const auto& d : s.dim()) {
        concrete = concrete && d.has_dim_value();
        declared.push_back(d.dim_value());
      }
      if (concrete && declared != v.shape) {
        return Error(ErrorCode::kInvalidModel, "output '{}': the model declares shape {}, its computation gives {}",
                     out.name(), ShapeToString(declared), ShapeToString(v.shape));
      }
    }
    return Status::Ok();
  }

  const ImportOptions& opts_;
  // Node name -> the NodeProto it came from (for ONNX's inference of unsupported nodes).
  std::map<std::string, const onnx::NodeProto*> proto_of_;
  std::string base_dir_;
  std::string name_;
  Graph g_;
};

}  // namespace

Result<Graph> ImportOnnxBytes(std::string_view bytes, const ImportOptions& options, const std::string& base_dir,
                              const std::string& name) {
  Importer imp(options, base_dir, name);
  return imp.Run(bytes);
}

Result<Graph> ImportOnnxFile(const std::string& path, const ImportOptions& options) {
  OPAL_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  size_t slash = path.find_last_of('/');
  std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  auto g = ImportOnnxBytes(bytes, options, dir, path);
  if (!g.ok()) {
    const std::string& m = g.status().message();
    // Make sure the file is named once in every message.
    if (m.find(path) == std::string::npos) return g.status().WithContext(path);
  }
  return g;
}

Result<Tensor> LoadTensorProtoFile(const std::string& path, std::string* tensor_name) {
  OPAL_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  onnx::TensorProto p;
  if (!p.ParseFromString(bytes)) {
    return Error(ErrorCode::kInvalidModel, "'{}' is not a serialized ONNX TensorProto", path);
  }
  if (tensor_name) *tensor_name = p.name();
  size_t slash = path.find_last_of('/');
  auto t = graph::TensorFromProto(p, slash == std::string::npos ? "." : path.substr(0, slash));
  if (!t.ok()) return t.status().WithContext(path);
  return t;
}

Status SaveTensorProtoFile(const std::string& path, const Tensor& tensor, const std::string& name) {
  onnx::TensorProto p = graph::TensorToProto(tensor, name);
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return Error(ErrorCode::kIo, "cannot write '{}': {}", path, std::strerror(errno));
  if (!p.SerializeToOstream(&f)) return Error(ErrorCode::kIo, "cannot write '{}'", path);
  return Status::Ok();
}

}  // namespace opal
