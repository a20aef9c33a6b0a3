#!/usr/bin/python3
"""End-to-end tests of the opal command line: output formats and, above all, that bad input gives
a one-line actionable message and the documented exit code (docs/cli.md).

usage: cli_test.py OPAL_BINARY SHARED_MODELS_DIR
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

import onnx
from onnx import TensorProto, helper

OPAL = None
MODELS = None

EXIT_USAGE, EXIT_NOT_FOUND, EXIT_INVALID_MODEL = 2, 3, 4


def run(*args):
    return subprocess.run([OPAL, *args], capture_output=True, text=True, timeout=120)


def save(model, d, name):
    path = os.path.join(d, name)
    with open(path, "wb") as f:
        f.write(model.SerializeToString())
    return path


def conv_model(input_dims, extra_nodes=(), inputs_extra=()):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, input_dims)
    w = helper.make_tensor_value_info("w", TensorProto.FLOAT, [8, 3, 3, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1])] + list(extra_nodes)
    graph = helper.make_graph(nodes, "g", [x, w, *inputs_extra], [y])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


class Errors(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.d = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def check(self, args, code, *fragments):
        r = run(*args)
        self.assertEqual(r.returncode, code, f"{args}: stdout={r.stdout!r} stderr={r.stderr!r}")
        lines = [l for l in r.stderr.strip().splitlines() if l.startswith("opal: error:")]
        self.assertEqual(len(lines), 1, f"expected one error line, got {r.stderr!r}")
        for frag in fragments:
            self.assertIn(frag, lines[0])
        return r

    def test_missing_file(self):
        self.check(["tasks", os.path.join(self.d, "nope.onnx")], EXIT_NOT_FOUND, "cannot open", "nope.onnx")

    def test_directory(self):
        self.check(["tasks", self.d], EXIT_NOT_FOUND, "directory")

    def test_not_onnx(self):
        p = os.path.join(self.d, "text.onnx")
        with open(p, "w") as f:
            f.write("this is not a model\n" * 50)
        self.check(["tasks", p], EXIT_INVALID_MODEL, "text.onnx", "not")

    def test_empty_file(self):
        p = os.path.join(self.d, "empty.onnx")
        open(p, "wb").close()
        self.check(["tasks", p], EXIT_INVALID_MODEL, "empty")

    def test_truncated(self):
        src = open(os.path.join(MODELS, "mobilenet_v2", "model.onnx"), "rb").read()
        for frac in (0.5, 0.9, 0.999):
            p = os.path.join(self.d, f"cut{frac}.onnx")
            with open(p, "wb") as f:
                f.write(src[: int(len(src) * frac)])
            self.check(["tasks", p], EXIT_INVALID_MODEL, "cut")

    def test_cycle(self):
        m = conv_model([1, 3, 8, 8], [helper.make_node("Add", ["c", "z"], ["z2"], name="add"),
                                      helper.make_node("Relu", ["z2"], ["z"], name="relu"),
                                      helper.make_node("Identity", ["z"], ["y"], name="out")])
        self.check(["tasks", save(m, self.d, "cycle.onnx")], EXIT_INVALID_MODEL, "cycle", "'add'", "'relu'")

    def test_dangling_input(self):
        m = conv_model([1, 3, 8, 8], [helper.make_node("Add", ["c", "ghost"], ["y"], name="add")])
        self.check(["tasks", save(m, self.d, "dangling.onnx")], EXIT_INVALID_MODEL, "'ghost'", "'add'")

    def test_symbolic_dim_needs_override(self):
        # A symbolic batch (first) dimension is taken as 1, with a warning naming the override.
        m = conv_model(["batch", 3, 8, 8], [helper.make_node("Relu", ["c"], ["y"])])
        p = save(m, self.d, "sym.onnx")
        r = run("tasks", "--json", p)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["tasks"][0]["workload"]["n"], 1)
        self.assertIn("batch", r.stderr)
        self.assertIn("--input-shape", r.stderr)
        # Any other symbolic dimension needs the override.
        q = save(conv_model([1, 3, "height", 8], [helper.make_node("Relu", ["c"], ["y"])]), self.d, "symh.onnx")
        self.check(["tasks", q], EXIT_USAGE, "'x'", "height", "--input-shape")
        r = run("tasks", "--json", "--input-shape", "x=2x3x8x8", p)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["tasks"][0]["workload"]["n"], 2)
        self.check(["tasks", "--input-shape", "nothere=1x3x8x8", p], EXIT_USAGE, "nothere", "x")
        self.check(["tasks", "--input-shape", "x=1x3xbanana", p], EXIT_USAGE, "banana")

    def test_zero_and_absurd_dims(self):
        m = conv_model([1, 0, 8, 8], [helper.make_node("Relu", ["c"], ["y"])])
        self.check(["tasks", save(m, self.d, "zero.onnx")], EXIT_INVALID_MODEL, "'x'", "0")
        m = conv_model([1, 3, 8, 8], [helper.make_node("Relu", ["c"], ["y"])])
        p = save(m, self.d, "ok.onnx")
        self.check(["tasks", "--input-shape", "x=100000x3x100000x100000", p], EXIT_INVALID_MODEL, "elements")

    def test_shape_mismatch_names_node(self):
        m = conv_model([1, 4, 8, 8], [helper.make_node("Relu", ["c"], ["y"])])  # weight wants 3 channels
        self.check(["tasks", save(m, self.d, "chan.onnx")], EXIT_INVALID_MODEL, "'conv'", "channels")

    def test_unsupported_operator_is_listed(self):
        m = conv_model([1, 3, 8, 8], [helper.make_node("MysteryOp", ["c"], ["y"], name="mystery")])
        r = run("tasks", "--json", save(m, self.d, "unsup.onnx"))
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        self.assertEqual(doc["unsupported_ops"], {"MysteryOp": 1})
        self.assertEqual(len(doc["tasks"]), 1)

    def test_bad_target(self):
        self.check(["target", "--target", "tpu arch=v5"], EXIT_USAGE, "tpu")
        self.check(["target", "--target", "cpu arch=x86_64 color=red"], EXIT_USAGE, "color")

    def test_bad_flag(self):
        r = run("tasks", "--no-such-flag", "x.onnx")
        self.assertEqual(r.returncode, EXIT_USAGE)


class Outputs(unittest.TestCase):
    def test_target_json(self):
        r = run("target", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        t = json.loads(r.stdout)
        self.assertEqual(t["format"], "opal.target/1")
        for k in ("kind", "arch", "model", "cores", "features", "exact_key", "coarse_key", "canonical"):
            self.assertIn(k, t)
        # The canonical string parses back to the same keys.
        r2 = run("target", "--json", "--target", t["canonical"])
        self.assertEqual(json.loads(r2.stdout)["exact_key"], t["exact_key"])

    def test_explicit_gpu_target(self):
        r = run("target", "--json", "--target", "cuda arch=sm_80 cores=108 mem=40G model='NVIDIA A100'")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["coarse_key"], "cuda-sm_80")

    def test_tasks_json_format(self):
        r = run("tasks", "--json", os.path.join(MODELS, "resnet18", "model.onnx"))
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        self.assertEqual(doc["format"], "opal.tasks/1")
        self.assertAlmostEqual(sum(t["share"] for t in doc["tasks"]), 1.0, places=9)
        self.assertEqual(sum(t["count"] for t in doc["tasks"]), 21)  # 20 Conv + 1 Gemm
        for t in doc["tasks"]:
            self.assertTrue(t["key"].startswith(t["op"] + "-"))
            self.assertEqual(t["total_flops"], t["flops"] * t["count"])
        # Sorted by total FLOPs, largest first.
        totals = [t["total_flops"] for t in doc["tasks"]]
        self.assertEqual(totals, sorted(totals, reverse=True))
        # Stable: the same model gives the same document.
        self.assertEqual(run("tasks", "--json", os.path.join(MODELS, "resnet18", "model.onnx")).stdout, r.stdout)

    def test_tasks_table(self):
        r = run("tasks", os.path.join(MODELS, "resnet18", "model.onnx"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("target  cpu-", r.stdout)
        self.assertIn("conv2d 1x64x56x56 -> 64 k3x3 s1 p1 d1 g1", r.stdout)


if __name__ == "__main__":
    OPAL, MODELS = sys.argv[1], sys.argv[2]
    unittest.main(argv=[sys.argv[0], "-v"])
