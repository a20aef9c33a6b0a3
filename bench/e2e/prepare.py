#!/usr/bin/python3
"""Prepares one model for the end-to-end benchmark, so that every side runs the same bytes.

  prepare.py MODEL.onnx OUTDIR

Writes OUTDIR/model.onnx: the model with its weights as initializers. A model exported without
weights (no initializers, several graph inputs, as some of ../shared/models) gets deterministic
random weights for every input but the first (torch_peer.random_weight: uniform +-1/sqrt(fan_in)
for rank >= 2, [0.5, 1.5) for rank-1 "weight"/"gamma", else +-0.1), the same rule torch_peer.py
applies, so opal, onnxruntime and PyTorch all read the same numbers from the file. A model with
initializers is copied as it is (external data is inlined).
Also writes, for every runtime input k, OUTDIR/input_k.pb (ONNX TensorProto, for `opal run
--input` and torch_peer.py) and OUTDIR/input_k.bin (raw little-endian, for the onnxruntime peer),
and OUTDIR/inputs.json (name, dtype, shape, files) describing them; data as torch_peer.random_input
(seed k).
"""
import json
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_peer import _dtype_np, _shape, random_input, random_weight  # noqa: E402
from onnx_to_torch import PeerError  # noqa: E402

ORT_TYPES = {np.float32: "float32", np.int64: "int64", np.int32: "int32", np.bool_: "bool",
             np.float64: "float64", np.uint8: "uint8", np.int8: "int8"}


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__)
    src, out = argv[1], argv[2]
    try:
        model = onnx.load(src)
    except Exception as e:  # noqa: BLE001
        sys.exit(f"prepare.py: cannot read '{src}': {e}")
    os.makedirs(out, exist_ok=True)
    g = model.graph
    inits = {t.name for t in g.initializer}
    graph_inputs = [vi for vi in g.input if vi.name not in inits]
    if not graph_inputs:
        sys.exit(f"prepare.py: '{src}' has no runtime input")
    runtime = graph_inputs
    if not inits and len(graph_inputs) > 1:
        runtime = graph_inputs[:1]
        for k, vi in enumerate(graph_inputs[1:]):
            arr = random_weight(vi.name, _dtype_np(vi.type.tensor_type.elem_type),
                                _shape(vi, {}), seed=1000 + k)
            g.initializer.append(numpy_helper.from_array(arr, vi.name))
        keep = [vi for vi in g.input if vi.name == runtime[0].name]
        del g.input[:]
        g.input.extend(keep)
    desc = []
    for k, vi in enumerate(runtime):
        dtype = _dtype_np(vi.type.tensor_type.elem_type)
        try:
            shape = _shape(vi, {})
        except PeerError as e:
            sys.exit(f"prepare.py: {e}")
        arr = random_input(vi.name, dtype, shape, seed=k)
        t = numpy_helper.from_array(arr, vi.name)
        with open(os.path.join(out, f"input_{k}.pb"), "wb") as f:
            f.write(t.SerializeToString())
        arr.tofile(os.path.join(out, f"input_{k}.bin"))
        desc.append({"name": vi.name, "dtype": ORT_TYPES.get(arr.dtype.type, str(arr.dtype)),
                     "shape": list(arr.shape), "pb": f"input_{k}.pb", "bin": f"input_{k}.bin"})
    onnx.save(model, os.path.join(out, "model.onnx"))
    with open(os.path.join(out, "inputs.json"), "w") as f:
        json.dump(desc, f, indent=1)


if __name__ == "__main__":
    main(sys.argv)
