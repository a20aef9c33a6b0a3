#include "graph/onnx_node_inference.h"

#include <onnx/shape_inference/implementation.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "graph/onnx_tensor.h"
#include "opal/log.h"

namespace opal::graph {
namespace {

constexpr int kTimeoutMs = 10000;
constexpr int64_t kMaxConstantElements = 1 << 16;  // constants passed along for data-dependent ops

onnx::ModelProto OneNodeModel(const onnx::NodeProto& node, const Graph& g, const Node& n, int opset) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(opset);
  auto* gp = m.mutable_graph();
  gp->set_name("node");
  *gp->add_node() = node;
  for (ValueId in : n.inputs) {
    if (in == kNoValue) continue;
    const Value& v = g.value(in);
    auto* vi = gp->add_input();
    vi->set_name(v.name);
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(DTypeToOnnx(v.dtype));
    auto* shape = tt->mutable_shape();
    for (int64_t d : v.shape) shape->add_dim()->set_dim_value(d);
    if (v.constant && v.constant->size() <= kMaxConstantElements) {
      *gp->add_initializer() = TensorToProto(*v.constant, v.name);
    }
  }
  for (ValueId out : n.outputs) {
    if (out != kNoValue) gp->add_output()->set_name(g.value(out).name);
  }
  return m;
}

// Runs in the child: infer, then write the serialized outputs' ValueInfo to fd.
[[noreturn]] void ChildInfer(onnx::ModelProto m, int fd) {
  std::string out;
  try {
    onnx::ShapeInferenceOptions o(/*check_type=*/false, /*error_mode=*/0, /*data_prop=*/true);
    onnx::shape_inference::InferShapes(m, onnx::OpSchemaRegistry::Instance(), o);
    onnx::GraphProto result;
    for (const auto& vi : m.graph().output()) *result.add_output() = vi;
    for (const auto& vi : m.graph().value_info()) *result.add_value_info() = vi;
    out = result.SerializeAsString();
  } catch (...) {
    _exit(3);
  }
  size_t off = 0;
  while (off < out.size()) {
    ssize_t w = write(fd, out.data() + off, out.size() - off);
    if (w <= 0) _exit(4);
    off += static_cast<size_t>(w);
  }
  _exit(0);
}

bool ReadAll(int fd, pid_t pid, std::string* out) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kTimeoutMs);
  char buf[65536];
  while (true) {
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    deadline - std::chrono::steady_clock::now()).count());
    if (left <= 0) {
      kill(pid, SIGKILL);
      return false;
    }
    pollfd p{fd, POLLIN, 0};
    int r = poll(&p, 1, left);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return true;  // EOF
    out->append(buf, static_cast<size_t>(n));
  }
}

}  // namespace

std::vector<ValueHint> InferNodeWithOnnx(const onnx::NodeProto& node, const Graph& g, NodeId id, int opset) {
  const Node& n = g.node(id);
  if (!n.domain.empty() && n.domain != "ai.onnx") return {};  // ONNX has no schema for it either
  onnx::ModelProto m = OneNodeModel(node, g, n, opset);
  int fds[2];
  if (pipe(fds) != 0) return {};
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return {};
  }
  if (pid == 0) {
    close(fds[0]);
    ChildInfer(std::move(m), fds[1]);
  }
  close(fds[1]);
  std::string bytes;
  bool complete = ReadAll(fds[0], pid, &bytes);
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!complete || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    log::Debug("ONNX shape inference for {} failed (status {}); its outputs stay unknown", n.Describe(), status);
    return {};
  }
  onnx::GraphProto result;
  if (!result.ParseFromString(bytes)) return {};
  std::vector<ValueHint> hints(n.outputs.size());
  for (size_t i = 0; i < n.outputs.size(); ++i) {
    if (n.outputs[i] == kNoValue) continue;
    const std::string& name = g.value(n.outputs[i]).name;
    for (const auto* list : {&result.output(), &result.value_info()}) {
      for (const auto& vi : *list) {
        if (vi.name() != name || !vi.type().has_tensor_type()) continue;
        const auto& tt = vi.type().tensor_type();
        auto dt = DTypeFromOnnx(tt.elem_type());
        if (!dt.ok()) continue;
        hints[i].dtype = *dt;
        if (!tt.has_shape()) continue;
        Shape s;
        bool known = true;
        for (const auto& d : tt.shape().dim()) {
          known = known && d.has_dim_value() && d.dim_value() >= 0;
          s.push_back(d.dim_value());
        }
        if (known) hints[i].shape = s;
      }
    }
  }
  return hints;
}

}  // namespace opal::graph
