"""ONNX -> PyTorch: runs an ONNX graph node by node with PyTorch's own operators.

OnnxProgram(model, runtime_input_names, bound_parameters, example_inputs) is an nn.Module whose
forward(*runtime_inputs) returns the graph outputs. Values that do not depend on a runtime input
(initializers, bound parameters, Constant nodes, Shape arithmetic) are computed once in the
constructor, with the example inputs giving the (fixed) shapes; only the rest runs per call.
Used by torch_peer.py; errors are PeerError with a one-line message naming the node.
"""

import math

import numpy as np
import onnx  # noqa: F401 - numpy_helper needs the package
import torch
import torch.nn.functional as F
from onnx import helper, numpy_helper


class PeerError(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# Operators: each takes (attrs, inputs, node) and returns a list of outputs. `inputs` holds torch
# tensors (None for an omitted optional input). Parameters that must be Python values (shapes,
# axes, bounds) are read from inputs that are constant by construction (the builder checks).


def _ints(t):
    return [int(v) for v in t.reshape(-1).tolist()]


def _pads_for(x, attrs, kernel, strides, dilations):
    """ONNX pads [b0, b1, ..., e0, e1, ...] for the spatial dims, auto_pad resolved."""
    n = len(kernel)
    auto = attrs.get("auto_pad", "NOTSET")
    if auto in ("NOTSET", ""):
        return list(attrs.get("pads", [0] * (2 * n)))
    if auto == "VALID":
        return [0] * (2 * n)
    begins, ends = [], []
    for i in range(n):
        size = x.shape[2 + i]
        out = -(-size // strides[i])
        total = max(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - size)
        small, big = total // 2, total - total // 2
        begins.append(small if auto == "SAME_UPPER" else big)
        ends.append(big if auto == "SAME_UPPER" else small)
    return begins + ends


def _pad_input(x, pads, value=0.0):
    """Applies asymmetric ONNX pads with F.pad; returns (x, symmetric padding for the op)."""
    n = len(pads) // 2
    if pads[:n] == pads[n:]:
        return x, tuple(pads[:n])
    torch_pads = []
    for i in reversed(range(n)):
        torch_pads += [pads[i], pads[n + i]]
    return F.pad(x, torch_pads, value=value), tuple([0] * n)


def op_conv(a, ins, node):
    x, w, b = ins[0], ins[1], ins[2] if len(ins) > 2 else None
    kernel = list(a.get("kernel_shape", w.shape[2:]))
    n = len(kernel)
    strides = list(a.get("strides", [1] * n))
    dilations = list(a.get("dilations", [1] * n))
    x, padding = _pad_input(x, _pads_for(x, a, kernel, strides, dilations))
    conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}.get(n)
    if conv is None:
        raise PeerError(f"Conv with {n} spatial dims")
    return [conv(x, w, b, strides, padding, dilations, a.get("group", 1))]


def op_pool(a, ins, node):
    x = ins[0]
    kernel = list(a["kernel_shape"])
    n = len(kernel)
    strides = list(a.get("strides", [1] * n))
    dilations = list(a.get("dilations", [1] * n))
    ceil = bool(a.get("ceil_mode", 0))
    if node.op_type == "MaxPool":
        x, padding = _pad_input(x, _pads_for(x, a, kernel, strides, dilations), -math.inf)
        pool = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[n]
        return [pool(x, kernel, strides, padding, dilations, ceil)]
    pads = _pads_for(x, a, kernel, strides, [1] * n)
    include = bool(a.get("count_include_pad", 0))
    if pads[:n] != pads[n:] and not include:
        raise PeerError("AveragePool with asymmetric pads excluding the padding")
    x, padding = _pad_input(x, pads)
    pool = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}[n]
    return [pool(x, kernel, strides, padding, ceil, include)]


def op_gemm(a, ins, node):
    A, B, C = ins[0], ins[1], ins[2] if len(ins) > 2 else None
    alpha, beta = a.get("alpha", 1.0), a.get("beta", 1.0)
    if a.get("transA", 0):
        A = A.t()
    if alpha == 1.0 and beta == 1.0:
        W = B if a.get("transB", 0) else B.t()  # F.linear computes A @ W.T + C
        return [F.linear(A, W, C)]
    B = B.t() if a.get("transB", 0) else B
    y = torch.matmul(A, B) * alpha
    return [y if C is None else y + beta * C]


def op_clip(a, ins, node):
    lo = ins[1].item() if len(ins) > 1 and ins[1] is not None else a.get("min", None)
    hi = ins[2].item() if len(ins) > 2 and ins[2] is not None else a.get("max", None)
    if lo == 0 and hi is None:
        return [F.relu(ins[0])]
    return [torch.clamp(ins[0], lo, hi)]


def op_reshape(a, ins, node):
    x, shape = ins[0], _ints(ins[1])
    if not a.get("allowzero", 0):
        shape = [x.shape[i] if d == 0 else d for i, d in enumerate(shape)]
    return [x.reshape(shape)]


def op_flatten(a, ins, node):
    x = ins[0]
    axis = a.get("axis", 1)
    axis = axis + x.dim() if axis < 0 else axis
    lead = int(np.prod(x.shape[:axis])) if axis > 0 else 1
    return [x.reshape(lead, -1)]


def op_transpose(a, ins, node):
    perm = a.get("perm", list(reversed(range(ins[0].dim()))))
    return [ins[0].permute(*perm)]


def op_gather(a, ins, node):
    data, idx = ins
    axis = a.get("axis", 0) % data.dim()
    idx = torch.where(idx < 0, idx + data.shape[axis], idx)
    if axis == 0 and data.dim() == 2 and data.is_floating_point():
        return [F.embedding(idx, data)]  # token/position embeddings: PyTorch's own lookup
    if idx.dim() == 0:
        return [data.select(axis, int(idx))]
    out = data.index_select(axis, idx.reshape(-1))
    return [out.reshape(tuple(data.shape[:axis]) + tuple(idx.shape) + tuple(data.shape[axis + 1:]))]


def op_slice(a, ins, node):
    x = ins[0]
    if len(ins) > 1:
        starts, ends = _ints(ins[1]), _ints(ins[2])
        axes = _ints(ins[3]) if len(ins) > 3 and ins[3] is not None else list(range(len(starts)))
        steps = _ints(ins[4]) if len(ins) > 4 and ins[4] is not None else [1] * len(starts)
    else:
        starts, ends = list(a["starts"]), list(a["ends"])
        axes = list(a.get("axes", range(len(starts))))
        steps = [1] * len(starts)
    index = [slice(None)] * x.dim()
    for s, e, ax, st in zip(starts, ends, axes, steps):
        if st <= 0:
            raise PeerError("Slice with a non-positive step")
        size = x.shape[ax]
        s = max(0, min(size, s + size if s < 0 else s))
        e = max(0, min(size, e + size if e < 0 else e))
        index[ax % x.dim()] = slice(s, e, st)
    return [x[tuple(index)]]


def op_pad(a, ins, node):
    """ONNX Pad: pads (input 1 from opset 11, else the attribute), constant/reflect/edge modes."""
    x = ins[0]
    pads = _ints(ins[1]) if len(ins) > 1 and ins[1] is not None else list(a.get("pads", []))
    value = float(ins[2].reshape(-1)[0]) if len(ins) > 2 and ins[2] is not None else float(a.get("value", 0.0))
    mode = a.get("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    if len(ins) > 3 and ins[3] is not None:
        raise PeerError("Pad with axes")
    n = x.dim()
    torch_pads = []
    for i in reversed(range(n)):
        torch_pads += [pads[i], pads[n + i]]
    while len(torch_pads) > 2 and torch_pads[-1] == 0 and torch_pads[-2] == 0:
        torch_pads = torch_pads[:-2]  # leading dims unpadded: F.pad's reflect/replicate need it
    if mode == "constant":
        return [F.pad(x, torch_pads, value=value)]
    return [F.pad(x, torch_pads, mode={"reflect": "reflect", "edge": "replicate"}[mode])]


def op_split(a, ins, node):
    x = ins[0]
    axis = a.get("axis", 0)
    if len(ins) > 1 and ins[1] is not None:
        sizes = _ints(ins[1])
    elif "split" in a:
        sizes = list(a["split"])
    else:
        k = len(node.output)
        sizes = [-(-x.shape[axis] // k)] * k
    return list(torch.split(x, sizes, dim=axis))


def op_reduce_mean(a, ins, node):
    axes = a.get("axes")
    if axes is None and len(ins) > 1 and ins[1] is not None:
        axes = _ints(ins[1])
    keep = bool(a.get("keepdims", 1))
    if axes is None:
        return [ins[0].mean().reshape([1] * ins[0].dim()) if keep else ins[0].mean()]
    return [torch.mean(ins[0], dim=list(axes), keepdim=keep)]


def op_div(a, ins, node):
    x, y = ins
    if not x.is_floating_point():
        return [torch.div(x, y, rounding_mode="trunc")]
    return [x / y]


def op_softmax(a, ins, node):
    x = ins[0]
    if a["_opset"] >= 13:
        return [torch.softmax(x, dim=a.get("axis", -1))]
    axis = a.get("axis", 1) % x.dim()  # before opset 13: softmax over the flattened tail
    flat = x.reshape(int(np.prod(x.shape[:axis])), -1)
    return [torch.softmax(flat, dim=1).reshape(x.shape)]


def op_unsqueeze(a, ins, node):
    axes = a.get("axes") or _ints(ins[1])
    x = ins[0]
    rank = x.dim() + len(axes)
    for ax in sorted(ax % rank for ax in axes):
        x = x.unsqueeze(ax)
    return [x]


def op_squeeze(a, ins, node):
    axes = a.get("axes") or (_ints(ins[1]) if len(ins) > 1 and ins[1] is not None else None)
    x = ins[0]
    if axes is None:
        return [x.squeeze()]
    for ax in sorted((ax % x.dim() for ax in axes), reverse=True):
        x = x.squeeze(ax)
    return [x]


_ONNX_TO_TORCH = {1: torch.float32, 2: torch.uint8, 3: torch.int8, 5: torch.int16, 6: torch.int32,
                  7: torch.int64, 9: torch.bool, 10: torch.float16, 11: torch.float64}


def op_batchnorm(a, ins, node):
    x, scale, bias, mean, var = ins[:5]
    return [F.batch_norm(x, mean, var, scale, bias, False, 0.0, a.get("epsilon", 1e-5))]


def op_constant(a, ins, node):
    if "value" in a:
        return [torch.from_numpy(numpy_helper.to_array(a["value"]).copy())]
    for k, dt in (("value_float", torch.float32), ("value_int", torch.int64)):
        if k in a:
            return [torch.tensor(a[k], dtype=dt)]
    for k, dt in (("value_floats", torch.float32), ("value_ints", torch.int64)):
        if k in a:
            return [torch.tensor(list(a[k]), dtype=dt)]
    raise PeerError("Constant without a supported value attribute")


def op_constant_of_shape(a, ins, node):
    value = torch.from_numpy(numpy_helper.to_array(a["value"]).copy()) if "value" in a else \
        torch.zeros(1, dtype=torch.float32)
    return [torch.full(_ints(ins[0]), value.reshape(-1)[0].item(), dtype=value.dtype)]


OPS = {
    "Conv": op_conv,
    "MaxPool": op_pool,
    "AveragePool": op_pool,
    "Pad": op_pad,
    "GlobalAveragePool": lambda a, i, n: [torch.mean(i[0], dim=list(range(2, i[0].dim())),
                                                     keepdim=True)],
    "GlobalMaxPool": lambda a, i, n: [torch.amax(i[0], dim=list(range(2, i[0].dim())),
                                                 keepdim=True)],
    "BatchNormalization": op_batchnorm,
    "Gemm": op_gemm,
    "MatMul": lambda a, i, n: [torch.matmul(i[0], i[1])],
    "Relu": lambda a, i, n: [F.relu(i[0])],
    "Clip": op_clip,
    "Sigmoid": lambda a, i, n: [torch.sigmoid(i[0])],
    "Tanh": lambda a, i, n: [torch.tanh(i[0])],
    "Erf": lambda a, i, n: [torch.erf(i[0])],
    "Sqrt": lambda a, i, n: [torch.sqrt(i[0])],
    "Reciprocal": lambda a, i, n: [torch.reciprocal(i[0])],
    "Neg": lambda a, i, n: [torch.neg(i[0])],
    "Exp": lambda a, i, n: [torch.exp(i[0])],
    "Add": lambda a, i, n: [i[0] + i[1]],
    "Sub": lambda a, i, n: [i[0] - i[1]],
    "Mul": lambda a, i, n: [i[0] * i[1]],
    "Div": op_div,
    "Pow": lambda a, i, n: [torch.pow(i[0], i[1].item() if i[1].numel() == 1 else i[1])],
    "Where": lambda a, i, n: [torch.where(i[0].bool(), i[1], i[2])],
    "Equal": lambda a, i, n: [torch.eq(i[0], i[1])],
    "Softmax": op_softmax,
    "ReduceMean": op_reduce_mean,
    "Transpose": op_transpose,
    "Reshape": op_reshape,
    "Flatten": op_flatten,
    "Squeeze": op_squeeze,
    "Unsqueeze": op_unsqueeze,
    "Concat": lambda a, i, n: [torch.cat([t for t in i if t is not None], dim=a["axis"])],
    "Split": op_split,
    "Slice": op_slice,
    "Gather": op_gather,
    "Shape": lambda a, i, n: [torch.tensor(list(i[0].shape), dtype=torch.int64)],
    "Cast": lambda a, i, n: [i[0].to(_ONNX_TO_TORCH[a["to"]])],
    "Identity": lambda a, i, n: [i[0]],
    "Dropout": lambda a, i, n: [i[0]],
    "Constant": op_constant,
    "ConstantOfShape": op_constant_of_shape,
    "Expand": lambda a, i, n: [i[0] * torch.ones(_ints(i[1]), dtype=i[0].dtype)],
}

# ---------------------------------------------------------------------------------------------
# The program.

def _attrs(node):
    out = {}
    for a in node.attribute:
        v = helper.get_attribute_value(a)
        out[a.name] = v.decode() if isinstance(v, bytes) else v
    return out


class OnnxProgram(torch.nn.Module):
    """The ONNX graph's runtime part as a torch module; constant parts are precomputed."""

    def __init__(self, model, runtime_inputs, bound, example_inputs):
        super().__init__()
        g = model.graph
        opset = max([imp.version for imp in model.opset_import if imp.domain in ("", "ai.onnx")],
                    default=1)
        unsupported = sorted({n.op_type for n in g.node if n.op_type not in OPS or
                              n.domain not in ("", "ai.onnx")})
        if unsupported:
            raise PeerError("no torch mapping for ONNX op(s): " + ", ".join(unsupported))
        static = {}
        for init in g.initializer:
            static[init.name] = torch.from_numpy(numpy_helper.to_array(init).copy())
        for name, arr in bound.items():
            static[name] = torch.from_numpy(np.array(arr, copy=True))
        self.input_names = list(runtime_inputs)
        self.output_names = [o.name for o in g.output]
        env = dict(static)
        env.update(zip(self.input_names, example_inputs))
        self.program = []  # (op function, attrs, input names, output names, node)
        for node in g.node:
            a = _attrs(node)
            a["_opset"] = opset
            ins = [env[i] if i else None for i in node.input]
            try:
                outs = OPS[node.op_type](a, ins, node)
            except (RuntimeError, ValueError, IndexError, KeyError, TypeError) as e:
                raise PeerError(f"node '{node.name}' ({node.op_type}): {e}") from e
            is_static = node.op_type == "Shape" or all(not i or i in static for i in node.input)
            for name, v in zip(node.output, outs):
                if name:
                    env[name] = v
                    if is_static:
                        static[name] = v
            if not is_static:
                self.program.append((OPS[node.op_type], a, list(node.input), list(node.output),
                                     node))
        # Constants the runtime part reads, kept as buffers (freeze inlines them).
        needed = {i for _, _, ins, _, _ in self.program for i in ins if i in static}
        needed |= {o for o in self.output_names if o in static}
        self.constants = {}
        for k, name in enumerate(sorted(needed)):
            # A copy each: aliased constants (Identity of a weight) would be shared parameters.
            self.register_buffer(f"c{k}", static[name].clone().contiguous())
            self.constants[name] = f"c{k}"
        self.num_static_nodes = len(g.node) - len(self.program)

    def forward(self, *inputs):
        env = {name: getattr(self, buf) for name, buf in self.constants.items()}
        env.update(zip(self.input_names, inputs))
        for fn, a, ins, outs, node in self.program:
            results = fn(a, [env[i] if i else None for i in ins], node)
            for name, v in zip(outs, results):
                if name:
                    env[name] = v
        return tuple(env[o] for o in self.output_names)
