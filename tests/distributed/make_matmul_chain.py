"""Writes an ONNX model of N MatMul+Relu layers of different widths (N tuning tasks) to argv[1].
Usage: make_matmul_chain.py OUT N"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out, n = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(0)
widths = [16 + 8 * i for i in range(n + 1)]
nodes, inits, prev = [], [], "x"
for i in range(n):
    w = numpy_helper.from_array(rng.standard_normal((widths[i], widths[i + 1])).astype(np.float32), f"w{i}")
    inits.append(w)
    nodes.append(helper.make_node("MatMul", [prev, f"w{i}"], [f"h{i}"]))
    nodes.append(helper.make_node("Relu", [f"h{i}"], [f"r{i}"]))
    prev = f"r{i}"
graph = helper.make_graph(nodes, "matmul_chain",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [8, widths[0]])],
                          [helper.make_tensor_value_info(prev, TensorProto.FLOAT, [8, widths[n]])], inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
onnx.checker.check_model(model)
onnx.save(model, out)
