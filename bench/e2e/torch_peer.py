#!/usr/bin/python3
"""PyTorch peer for opal's end-to-end benchmark: runs an ONNX model with PyTorch's own operators.

The ONNX graph is loaded with the onnx package and executed node by node with the matching torch
op (F.conv2d, F.linear, torch.matmul, F.relu, F.max_pool2d, torch.softmax, torch.erf, ...).
Values that do not depend on a runtime input (initializers, Constant nodes, Shape arithmetic,
transposed weights) are computed once when the program is built. The node program is an
nn.Module; by default it is traced with torch.jit.trace, frozen with torch.jit.freeze and passed
through torch.jit.optimize_for_inference (PyTorch's CPU inference path: constants inlined,
conv/bn/add folding, oneDNN conv layouts, no Python per op); when a step fails it falls back to
the previous one (frozen, then eager) and says so. Everything runs under torch.no_grad() with
torch.set_num_threads(T). The output says which mode ran.

Inputs not given with --input get deterministic random data (seed k for the k-th input: seed 0
for the usual single input): float in [-1, 1), integer 0 or 1 ("mask" inputs 1), like `opal run`.
A model exported without weights (no initializers, several graph inputs) keeps only its first
input as a runtime input; the others are parameters and get deterministic random values (uniform
+-1/sqrt(fan_in) for rank >= 2, [0.5, 1.5) for rank-1 "weight"/"gamma", else +-0.1), bound as
constants as `opal build` does.

  torch_peer.py MODEL.onnx [--threads T] [--repeats N] [--warmup W] [--input NAME=FILE.pb]
                [--check DIR/test_data_set_0] [--mode optimized|frozen|traced|eager]
                [--flush-denormal] [--json]
"""

import argparse
import glob
import json
import math
import os
import statistics
import sys
import time
import warnings

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from onnx_to_torch import OnnxProgram, PeerError


# ---------------------------------------------------------------------------------------------
# Inputs.

def _dtype_np(elem_type):
    return np.dtype(onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[elem_type])


def _shape(vi, overrides):
    if vi.name in overrides:
        return overrides[vi.name]
    dims = []
    for d in vi.type.tensor_type.shape.dim:
        if not d.HasField("dim_value"):
            raise PeerError(f"input '{vi.name}' has a symbolic dim '{d.dim_param}'; give --input")
        dims.append(d.dim_value)
    return dims


def random_input(name, dtype, shape, seed):
    rng = np.random.default_rng(seed)
    if np.issubdtype(dtype, np.floating):
        return rng.uniform(-1.0, 1.0, size=shape).astype(dtype)
    if "mask" in name.lower():
        return np.ones(shape, dtype=dtype)
    return rng.integers(0, 2, size=shape).astype(dtype)


def random_weight(name, dtype, shape, seed):
    rng = np.random.default_rng(seed)
    if not np.issubdtype(dtype, np.floating):
        return np.zeros(shape, dtype=dtype)
    lo, hi = -0.1, 0.1
    if len(shape) >= 2:
        hi = 1.0 / math.sqrt(max(1, int(np.prod(shape[1:]))))
        lo = -hi
    elif name.endswith("weight") or name.endswith("gamma"):
        lo, hi = 0.5, 1.5
    return rng.uniform(lo, hi, size=shape).astype(dtype)


def load_pb(path):
    t = onnx.TensorProto()
    try:
        with open(path, "rb") as f:
            t.ParseFromString(f.read())
    except Exception as e:  # noqa: BLE001 - OSError or a protobuf DecodeError
        raise PeerError(f"cannot read tensor file '{path}': {e}") from e
    return t.name, numpy_helper.to_array(t)


def prepare_inputs(model, given):
    """Returns (runtime input names, arrays, bound parameters, input descriptions)."""
    g = model.graph
    inits = {t.name for t in g.initializer}
    graph_inputs = [vi for vi in g.input if vi.name not in inits]
    if not graph_inputs:
        raise PeerError("the model has no runtime input")
    runtime = graph_inputs
    params = []
    if not inits and len(graph_inputs) > 1:  # exported without weights: parameters are inputs
        runtime = [vi for k, vi in enumerate(graph_inputs) if k == 0 or vi.name in given]
        params = [vi for vi in graph_inputs if vi not in runtime]
    for name in given:
        if name not in {vi.name for vi in graph_inputs}:
            raise PeerError(f"--input '{name}': the model has no such input")
    arrays, desc = [], []
    for k, vi in enumerate(runtime):
        dtype = _dtype_np(vi.type.tensor_type.elem_type)
        if vi.name in given:
            arr = given[vi.name].astype(dtype, copy=False)
            declared = [d.dim_value if d.HasField("dim_value") else None
                        for d in vi.type.tensor_type.shape.dim]
            if len(declared) != arr.ndim or any(d is not None and d != n
                                                for d, n in zip(declared, arr.shape)):
                raise PeerError(f"input '{vi.name}' has shape {list(arr.shape)}, the model "
                                f"declares {declared}")
            source = "file"
        else:
            arr = random_input(vi.name, dtype, _shape(vi, {}), seed=k)
            source = f"random (seed {k})"
        arrays.append(arr)
        desc.append({"name": vi.name, "shape": list(arr.shape), "dtype": str(arr.dtype),
                     "source": source})
    bound = {}
    for k, vi in enumerate(params):
        bound[vi.name] = random_weight(vi.name, _dtype_np(vi.type.tensor_type.elem_type),
                                       _shape(vi, {}), seed=1000 + k)
    return [vi.name for vi in runtime], arrays, bound, desc


# ---------------------------------------------------------------------------------------------

def build(program, example, mode):
    """Returns (callable, mode actually used, note). Falls back one step at a time (optimized ->
    frozen -> eager) when PyTorch refuses a step, and says so in the note."""
    program.eval()
    if mode == "eager":
        return program, "eager", ""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            traced = torch.jit.trace(program, tuple(example), check_trace=False)
    except Exception as e:  # noqa: BLE001 - any tracing failure falls back to eager
        return program, "eager", f"tracing failed ({type(e).__name__}: {e}); ran eager"
    if mode == "traced":
        return traced, "torch.jit.trace", ""
    frozen = torch.jit.freeze(traced.eval())
    if mode == "frozen":
        return frozen, "torch.jit.trace + torch.jit.freeze", ""
    try:
        optimized = torch.jit.optimize_for_inference(frozen)
        optimized(*example)
    except Exception as e:  # noqa: BLE001
        return frozen, "torch.jit.trace + torch.jit.freeze", \
            f"optimize_for_inference failed ({type(e).__name__}: {e}); ran frozen"
    return optimized, "torch.jit.trace + torch.jit.freeze + optimize_for_inference", ""


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=50)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--input", action="append", default=[], metavar="NAME=FILE.pb")
    p.add_argument("--check", metavar="DIR", help="test_data_set dir: compare with output_*.pb")
    p.add_argument("--tol", type=float, default=1e-3, help="max rel. error for --check")
    p.add_argument("--mode", choices=["optimized", "frozen", "traced", "eager"],
                   default="optimized",
                   help="optimized (default): torch.jit.trace + freeze + optimize_for_inference "
                        "(oneDNN conv layouts); frozen: trace + freeze; traced; eager")
    p.add_argument("--flush-denormal", action="store_true",
                   help="torch.set_flush_denormal(True): subnormal floats become zero (untrained "
                        "models such as mobilenet_v2 otherwise spend most time on subnormals)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)

    torch.set_num_threads(args.threads)
    if args.flush_denormal and not torch.set_flush_denormal(True):
        raise PeerError("--flush-denormal: this CPU does not support flushing subnormals")
    model = onnx.load(args.model)
    given = {}
    for spec in args.input:
        if "=" not in spec:
            raise PeerError(f"--input '{spec}': give NAME=FILE.pb")
        name, path = spec.split("=", 1)
        given[name] = load_pb(path)[1]
    expected = []
    if args.check:
        files = sorted(glob.glob(os.path.join(args.check, "input_*.pb")),
                       key=lambda s: int(s.rsplit("_", 1)[1].split(".")[0]))
        names = [vi.name for vi in model.graph.input
                 if vi.name not in {t.name for t in model.graph.initializer}]
        for k, f in enumerate(files):
            tname, arr = load_pb(f)
            given.setdefault(tname if tname in names else names[k], arr)
        outs = sorted(glob.glob(os.path.join(args.check, "output_*.pb")),
                      key=lambda s: int(s.rsplit("_", 1)[1].split(".")[0]))
        expected = [load_pb(f)[1] for f in outs]
        if not expected:
            raise PeerError(f"--check {args.check}: no output_*.pb")

    names, arrays, bound, desc = prepare_inputs(model, given)
    inputs = [torch.from_numpy(np.array(a, copy=True)) for a in arrays]
    with torch.no_grad():
        t0 = time.perf_counter()
        program = OnnxProgram(model, names, bound, inputs)
        fn, mode, note = build(program, inputs, args.mode)
        build_s = time.perf_counter() - t0
        for _ in range(args.warmup):
            outs = fn(*inputs)
        times = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            outs = fn(*inputs)
            times.append((time.perf_counter() - t) * 1e3)
    times.sort()

    def rank(pct):  # nearest rank, ceil(pct * n / 100), as opal's runtime summarises latencies
        return times[min(max((pct * len(times) + 99) // 100, 1), len(times)) - 1]

    result = {
        "model": args.model, "peer": "pytorch", "torch_version": torch.__version__,
        "mode": mode, "threads": args.threads, "flush_denormal": args.flush_denormal, "batch": 1, "repeats": args.repeats,
        "warmup": args.warmup, "p50_ms": rank(50), "median_ms": rank(50), "p90_ms": rank(90),
        "min_ms": times[0], "mean_ms": statistics.fmean(times), "build_s": build_s, "inputs": desc,
        "random_weights": len(bound), "nodes": len(model.graph.node),
        "runtime_nodes": len(program.program),
    }
    if note:
        result["note"] = note
    ok = True
    if expected:
        checks = []
        for k, want in enumerate(expected):
            got = outs[k].numpy()
            if got.shape != want.shape:
                raise PeerError(f"output {k}: shape {got.shape}, expected {want.shape}")
            err = np.abs(got.astype(np.float64) - want.astype(np.float64))
            scale = max(float(np.abs(want).max()), 1e-30)
            rel = float(err.max()) / scale
            checks.append({"output": model.graph.output[k].name, "max_abs_err": float(err.max()),
                           "max_rel_err": rel, "ok": rel <= args.tol})
            ok &= rel <= args.tol
        result["check"] = checks
    if args.json:
        print(json.dumps(result, indent=None))
    else:
        print(f"{os.path.basename(os.path.dirname(args.model)) or args.model}: PyTorch "
              f"{torch.__version__} ({mode}{', subnormals flushed' if args.flush_denormal else ''}), "
              f"{args.threads} thread(s), batch 1: "
              f"median {result['median_ms']:.3f} ms, p90 {result['p90_ms']:.3f} ms "
              f"over {args.repeats} runs (warmup {args.warmup})")
        for d in desc:
            print(f"  input {d['name']} {d['dtype']} {d['shape']}: {d['source']}")
        if bound:
            print(f"  {len(bound)} parameters without values got deterministic random weights")
        if note:
            print("  note: " + note)
        for c in result.get("check", []):
            print(f"  check {c['output']}: max rel. error {c['max_rel_err']:.3g} "
                  f"(max abs {c['max_abs_err']:.3g}) {'ok' if c['ok'] else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except PeerError as e:
        print(f"torch_peer: {e}", file=sys.stderr)
        sys.exit(2)
