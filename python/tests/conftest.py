"""Shared fixtures: a private store and kernel cache per test session, and small models made here."""

import os
import sys

import numpy as np
import pytest

# The package is found on PYTHONPATH (build/python), as the README says; CTest sets it.
import opal  # noqa: E402

ROOT = os.environ.get("OPAL_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


@pytest.fixture(scope="session")
def workdir(tmp_path_factory):
    d = tmp_path_factory.mktemp("opal-py")
    os.environ["OPAL_DEVICE_LOCK"] = str(d / "device.lock")
    return d


@pytest.fixture(scope="session")
def store_dsn(workdir):
    return "sqlite:" + str(workdir / "records.db")


@pytest.fixture(scope="session")
def cache(workdir):
    return str(workdir / "kernels")


@pytest.fixture(scope="session")
def two_matmuls(workdir):
    """A small ONNX file: MatMul, Relu, MatMul (two tuning tasks), with its weights."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    w1 = rng.standard_normal((24, 40)).astype(np.float32)
    w2 = rng.standard_normal((40, 16)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w1"], ["h"]), helper.make_node("Relu", ["h"], ["r"]),
         helper.make_node("MatMul", ["r", "w2"], ["y"])],
        "two_matmuls",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [8, 24])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [8, 16])],
        [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    path = str(workdir / "two_matmuls.onnx")
    onnx.save(model, path)
    return path, model, w1, w2


def rel_l2(got, want):
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    return float(np.linalg.norm(got - want) / max(np.linalg.norm(want), 1e-30))
