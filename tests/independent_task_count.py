#!/usr/bin/python3
"""Independent check of `opal tasks`: derives each model's tunable workloads straight from the
ONNX graph (ONNX's Python shape inference, no opal code) and compares them, with their counts,
to what `opal tasks --json` reports.

usage: independent_task_count.py OPAL_BINARY MODEL.onnx [MODEL.onnx ...]
Exit 0 when every model matches; prints the differences otherwise.
"""
import collections
import json
import subprocess
import sys

import onnx
from onnx import shape_inference

DTYPES = {1: "float32", 10: "float16", 11: "float64", 16: "bfloat16"}


def shapes_of(model):
    inferred = shape_inference.infer_shapes(model, data_prop=True)
    g = inferred.graph
    out = {}
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        t = vi.type.tensor_type
        dims = [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim]
        out[vi.name] = (t.elem_type, dims)
    for init in g.initializer:
        out[init.name] = (init.data_type, list(init.dims))
    return out


def attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def conv(node, shapes):
    et, x = shapes[node.input[0]]
    _, w = shapes[node.input[1]]
    a = attrs(node)
    spatial = len(x) - 2
    strides = a.get("strides", [1] * spatial)
    dil = a.get("dilations", [1] * spatial)
    pads = list(a.get("pads", [0] * (2 * spatial)))
    auto = a.get("auto_pad", b"NOTSET").decode()
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        for i in range(spatial):
            out = -(-x[2 + i] // strides[i])
            total = max(0, (out - 1) * strides[i] + (w[2 + i] - 1) * dil[i] + 1 - x[2 + i])
            lo = total // 2 if auto == "SAME_UPPER" else total - total // 2
            pads[i], pads[i + spatial] = lo, total - lo
    elif auto == "VALID":
        pads = [0] * (2 * spatial)
    if spatial == 1:  # conv1d is conv2d with height 1
        x, w = x[:2] + [1] + x[2:], w[:2] + [1] + w[2:]
        strides, dil, pads = [1] + strides, [1] + dil, [0, pads[0], 0, pads[1]]
    return {"op": "conv2d", "dtype": DTYPES[et], "layout": "NCHW", "n": x[0], "c": x[1], "h": x[2],
            "w": x[3], "k": w[0], "kh": w[2], "kw": w[3], "stride_h": strides[0], "stride_w": strides[1],
            "pad_top": pads[0], "pad_left": pads[1], "pad_bottom": pads[2], "pad_right": pads[3],
            "dilation_h": dil[0], "dilation_w": dil[1], "groups": a.get("group", 1)}


def gemm(node, shapes):
    et, a_shape = shapes[node.input[0]]
    _, b_shape = shapes[node.input[1]]
    a = attrs(node)
    ta, tb = bool(a.get("transA", 0)), bool(a.get("transB", 0))
    m, k = (a_shape[1], a_shape[0]) if ta else (a_shape[0], a_shape[1])
    n = b_shape[0] if tb else b_shape[1]
    return {"op": "dense", "dtype": DTYPES[et], "m": m, "n": n, "k": k, "trans_a": ta, "trans_b": tb}


def prod(v):
    p = 1
    for d in v:
        p *= d
    return p


def matmul(node, shapes):
    et, a = shapes[node.input[0]]
    _, b = shapes[node.input[1]]
    a = [1] + a if len(a) == 1 else a
    b = b + [1] if len(b) == 1 else b
    m, k, n = a[-2], a[-1], b[-1]
    if prod(b[:-2]) == 1:
        return {"op": "dense", "dtype": DTYPES[et], "m": prod(a[:-2]) * m, "n": n, "k": k,
                "trans_a": False, "trans_b": False}
    broadcast = "none" if prod(a[:-2]) == prod(b[:-2]) else "a"
    return {"op": "batch_matmul", "dtype": DTYPES[et], "batch": prod(b[:-2]), "m": m, "n": n, "k": k,
            "broadcast": broadcast}


def expected(path):
    model = onnx.load(path)
    shapes = shapes_of(model)
    counts = collections.Counter()
    for node in model.graph.node:
        fn = {"Conv": conv, "Gemm": gemm, "MatMul": matmul}.get(node.op_type)
        if fn:
            counts[json.dumps(fn(node, shapes), sort_keys=True, separators=(",", ":"))] += 1
    return counts


def main():
    opal, models = sys.argv[1], sys.argv[2:]
    failures = 0
    for path in models:
        want = expected(path)
        out = subprocess.run([opal, "tasks", "--json", path], capture_output=True, text=True)
        if out.returncode != 0:
            print(f"FAIL {path}: opal exited {out.returncode}: {out.stderr.strip()}")
            failures += 1
            continue
        doc = json.loads(out.stdout)
        got = collections.Counter({json.dumps(t["workload"], sort_keys=True, separators=(",", ":")): t["count"]
                                   for t in doc["tasks"]})
        if got != want:
            failures += 1
            print(f"FAIL {path}")
            for k in sorted(set(got) | set(want)):
                if got[k] != want[k]:
                    print(f"   opal {got[k]} vs independent {want[k]}: {k}")
        else:
            print(f"ok   {path}: {len(want)} tasks, {sum(want.values())} nodes")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
