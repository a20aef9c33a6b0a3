#include "runtime/program_check.h"

#include <cstdint>
#include <limits>

#include "runtime/rt_dtype.h"

namespace opal_rt {
namespace {

const char* NameOf(const TensorDesc& t) { return t.name ? t.name : "?"; }

RtStatus Invalid(const char* what) {
  return RtError(OPAL_ERR_ARGUMENT,
                 "the model library's program is invalid (%s): a bug in opal build; rebuild the "
                 "model with a fixed opal",
                 what);
}

RtStatus CheckTensor(const ProgramDesc& p, int i) {
  const TensorDesc& t = p.tensors[i];
  char what[512];
  const int32_t esize = OnnxElementSize(t.dtype);
  if (esize == 0) {
    std::snprintf(what, sizeof what,
                  "tensor %d '%s' has ONNX dtype %d, which the runtime cannot hold", i, NameOf(t),
                  t.dtype);
    return Invalid(what);
  }
  if (t.rank < 0 || (t.rank > 0 && !t.dims)) {
    std::snprintf(what, sizeof what, "tensor %d '%s' has rank %d", i, NameOf(t), t.rank);
    return Invalid(what);
  }
  int64_t n = 1;
  for (int d = 0; d < t.rank; ++d) {
    if (t.dims[d] < 0 ||
        (t.dims[d] > 0 && n > std::numeric_limits<int64_t>::max() / t.dims[d] / 8)) {
      std::snprintf(what, sizeof what, "tensor %d '%s' has dimension %d = %lld", i, NameOf(t), d,
                    static_cast<long long>(t.dims[d]));
      return Invalid(what);
    }
    n *= t.dims[d];
  }
  if (t.bytes != n * esize) {
    std::snprintf(what, sizeof what, "tensor %d '%s' has %lld bytes, its shape needs %lld", i,
                  NameOf(t), static_cast<long long>(t.bytes), static_cast<long long>(n * esize));
    return Invalid(what);
  }
  const int64_t limit = t.storage == kArena ? p.arena_bytes : p.weights_bytes;
  if ((t.storage != kArena && t.storage != kWeights) || t.offset < 0 || t.offset % esize != 0 ||
      t.offset > limit - t.bytes) {
    std::snprintf(
        what, sizeof what,
        "tensor %d '%s' at offset %lld (%lld bytes) does not fit storage %d of %lld bytes", i,
        NameOf(t), static_cast<long long>(t.offset), static_cast<long long>(t.bytes), t.storage,
        static_cast<long long>(limit));
    return Invalid(what);
  }
  return RtOk();
}

RtStatus CheckArg(const ProgramDesc& p, int i) {
  const ArgDesc& a = p.args[i];
  char what[512];
  if (a.tensor < 0 || a.tensor >= p.num_tensors || a.rank < 0 || a.rank > 16 ||
      (a.rank > 0 && (!a.extents || !a.strides))) {
    std::snprintf(what, sizeof what, "arg %d: tensor %d, rank %d", i, a.tensor, a.rank);
    return Invalid(what);
  }
  const TensorDesc& t = p.tensors[a.tensor];
  const int64_t elements = t.bytes / OnnxElementSize(t.dtype);
  int64_t last = 0;  // highest element index the view reaches
  bool empty = false;
  for (int d = 0; d < a.rank; ++d) {
    const int64_t e = a.extents[d], s = a.strides[d];
    if (e < 0 || s < 0 || e > INT32_MAX || s > INT32_MAX) {
      std::snprintf(what, sizeof what,
                    "arg %d of tensor '%s': dimension %d has extent %lld stride %lld", i, NameOf(t),
                    d, static_cast<long long>(e), static_cast<long long>(s));
      return Invalid(what);
    }
    if (e == 0)
      empty = true;
    else
      last += (e - 1) * s;
  }
  if (!empty && last >= elements) {
    std::snprintf(what, sizeof what,
                  "arg %d of tensor '%s' reaches element %lld, the tensor has %lld", i, NameOf(t),
                  static_cast<long long>(last), static_cast<long long>(elements));
    return Invalid(what);
  }
  return RtOk();
}

}  // namespace

RtStatus CheckProgram(const ProgramDesc& p) {
  if (p.abi != OPAL_RUNTIME_ABI) {
    return RtError(OPAL_ERR_IO,
                   "the model library was generated for runtime ABI %d, its runtime is ABI %d: "
                   "rebuild the model with this opal",
                   p.abi, OPAL_RUNTIME_ABI);
  }
  if (p.num_tensors < 0 || p.num_args < 0 || p.num_steps < 0 || p.num_kernels < 0 ||
      p.num_inputs < 0 || p.num_outputs < 0 || p.arena_bytes < 0 || p.weights_bytes < 0 ||
      (p.num_tensors && !p.tensors) || (p.num_args && !p.args) || (p.num_steps && !p.steps) ||
      (p.num_kernels && !p.kernels) || (p.num_inputs && !p.inputs) ||
      (p.num_outputs && !p.outputs)) {
    return Invalid("negative count or missing table");
  }
  for (int i = 0; i < p.num_tensors; ++i) {
    RtStatus s = CheckTensor(p, i);
    if (!s.ok()) return s;
  }
  for (int i = 0; i < p.num_args; ++i) {
    RtStatus s = CheckArg(p, i);
    if (!s.ok()) return s;
  }
  char what[256];
  for (int i = 0; i < p.num_steps; ++i) {
    const StepDesc& st = p.steps[i];
    bool bad = st.kernel < 0 || st.kernel >= p.num_kernels || !p.kernels[st.kernel] ||
               st.num_args <= 0 || !st.args;
    for (int k = 0; !bad && k < st.num_args; ++k) bad = st.args[k] < 0 || st.args[k] >= p.num_args;
    if (bad) {
      std::snprintf(what, sizeof what, "step %d (node '%s'): kernel %d, %d args", i,
                    st.node ? st.node : "?", st.kernel, st.num_args);
      return Invalid(what);
    }
  }
  for (int i = 0; i < p.num_inputs; ++i) {
    const int32_t t = p.inputs[i];
    if (t < 0 || t >= p.num_tensors || p.tensors[t].storage != kArena) {
      std::snprintf(what, sizeof what, "input %d is tensor %d, not an arena tensor", i, t);
      return Invalid(what);
    }
  }
  for (int i = 0; i < p.num_outputs; ++i) {
    if (p.outputs[i] < 0 || p.outputs[i] >= p.num_tensors) {
      std::snprintf(what, sizeof what, "output %d is tensor %d", i, p.outputs[i]);
      return Invalid(what);
    }
  }
  return RtOk();
}

}  // namespace opal_rt
