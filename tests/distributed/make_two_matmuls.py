"""Writes a tiny ONNX model with two MatMuls of different shapes (two tuning tasks) to argv[1]."""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(0)
w1 = numpy_helper.from_array(rng.standard_normal((24, 40)).astype(np.float32), "w1")
w2 = numpy_helper.from_array(rng.standard_normal((40, 16)).astype(np.float32), "w2")
graph = helper.make_graph(
    [helper.make_node("MatMul", ["x", "w1"], ["h"]), helper.make_node("Relu", ["h"], ["r"]),
     helper.make_node("MatMul", ["r", "w2"], ["y"])],
    "two_matmuls",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [8, 24])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [8, 16])],
    [w1, w2])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
onnx.checker.check_model(model)
onnx.save(model, sys.argv[1])
