#!/usr/bin/python3
"""`opal run` end to end on the runtime's test model (see testdata/test_program.cc).

Usage: run_cli_test.py OPAL TEST_MODEL_LIBMODEL_SO BAD_MODEL_LIBMODEL_SO

The references are computed here with numpy, independently of opal: y = 2 * (2x + w) + x in
float32, m = 3n + k in int64; the .pb files are written and read with the onnx package.
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np
from onnx import numpy_helper
import onnx

OPAL, LIB, BAD_LIB = sys.argv[1:4]
W = np.array([0.5 * i - 3.0 for i in range(15)], dtype=np.float32).reshape(3, 5)
K = np.array([1000000000000 * (i + 1) - 7 for i in range(6)], dtype=np.int64).reshape(2, 3)
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def model_dir(root, name, lib, weights=None):
    d = os.path.join(root, name)
    os.makedirs(d)
    shutil.copy(lib, os.path.join(d, "libmodel.so"))
    blob = W.tobytes() + b"\0" * 4 + K.tobytes() if weights is None else weights
    with open(os.path.join(d, "weights.bin"), "wb") as f:
        f.write(blob)
    return d


def save(path, array, name):
    t = numpy_helper.from_array(array, name=name)
    with open(path, "wb") as f:
        f.write(t.SerializeToString())


def load(path):
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return t.name, numpy_helper.to_array(t)


def opal(*args):
    r = subprocess.run([OPAL, "run", *args], capture_output=True, text=True, timeout=120)
    return r.returncode, r.stdout, r.stderr


def reference_y(x):
    t = (x * np.float32(2) + W).astype(np.float32)
    return (t * np.float32(2) + x).astype(np.float32)


with tempfile.TemporaryDirectory() as root:
    d = model_dir(root, "model", LIB)
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, (3, 5)).astype(np.float32)
    n = rng.integers(-10**9, 10**9, (2, 3), dtype=np.int64)
    save(os.path.join(root, "x.pb"), x, "x")
    save(os.path.join(root, "n.pb"), n, "n")

    # Given inputs: outputs written to DIR/outputs, equal to the reference.
    rc, out, err = opal(d, "--input", "x=" + os.path.join(root, "x.pb"), "--input", os.path.join(root, "n.pb"))
    check(rc == 0, f"run with inputs: rc {rc}, stderr {err!r}")
    name, y = load(os.path.join(d, "outputs", "y.pb"))
    check(name == "y" and y.dtype == np.float32 and y.shape == (3, 5), f"y.pb: {name} {y.dtype} {y.shape}")
    check(np.array_equal(y, reference_y(x)), f"y differs: max {np.abs(y - reference_y(x)).max()}")
    name, m = load(os.path.join(d, "outputs", "m.pb"))
    check(name == "m" and np.array_equal(m, 3 * n + K), "m differs from 3n + k")
    check("warning" not in err, f"no warning expected: {err!r}")
    check("output   y float32 3x5" in out, f"text output: {out!r}")

    # Random inputs: a warning per input, deterministic, floats in [-1, 1), integers in {0, 1}.
    od = os.path.join(root, "rand")
    rc, out, err = opal(d, "--output-dir", od)
    check(rc == 0, f"random run: rc {rc} {err!r}")
    check(err.count("using random data") == 2, f"two warnings expected: {err!r}")
    _, y1 = load(os.path.join(od, "y.pb"))
    _, m1 = load(os.path.join(od, "m.pb"))
    xr = (y1 - np.float32(2) * W) / np.float32(5)  # y = 5x + 2w up to rounding
    check(xr.min() >= -1.0001 and xr.max() < 1.0001 and np.abs(xr).max() > 0.3, f"random x range {xr.min()} {xr.max()}")
    check(set(np.unique((m1 - K) // 3).tolist()) <= {0, 1}, "random n not in {0, 1}")
    rc, out, err = opal(d, "--output-dir", od)
    _, y2 = load(os.path.join(od, "y.pb"))
    check(np.array_equal(y1, y2), "random inputs are not deterministic")

    # --bench: percentiles in text and JSON.
    rc, out, err = opal(d, "--bench", "5", "--warmup", "1", "--threads", "1")
    check(rc == 0 and "latency  5 runs after 1 warm-up: min " in out and " p50 " in out and " p90 " in out
          and " p99 " in out and " mean " in out, f"bench text: {out!r} {err!r}")
    rc, out, err = opal(d, "--bench", "5", "--json", "--input", "x=" + os.path.join(root, "x.pb"))
    j = json.loads(out) if rc == 0 else {}
    b = j.get("bench", {})
    check(j.get("format") == "opal.run/1" and b.get("runs") == 5 and
          0 < b["min_ms"] <= b["p50_ms"] <= b["p90_ms"] <= b["p99_ms"] and b["min_ms"] <= b["mean_ms"],
          f"bench json: {out!r}")
    check([i.get("source") for i in j.get("inputs", [])] == ["file", "random"], f"json sources: {j.get('inputs')}")
    check(j.get("description") == "runtime_test | host | opal test", "json description")

    # Errors: exit codes of docs/cli.md, one line naming the problem.
    save(os.path.join(root, "x_bad.pb"), np.zeros((5, 3), np.float32), "x")
    rc, _, err = opal(d, "--input", "x=" + os.path.join(root, "x_bad.pb"))
    check(rc == 2 and "input 'x' from" in err and "is float32 5x3, the model takes float32 3x5" in err,
          f"wrong shape: {rc} {err!r}")
    save(os.path.join(root, "x_i.pb"), np.zeros((3, 5), np.int64), "x")
    rc, _, err = opal(d, "--input", "x=" + os.path.join(root, "x_i.pb"))
    check(rc == 2 and "is int64 3x5" in err, f"wrong dtype: {rc} {err!r}")
    rc, _, err = opal(d, "--input", "z=" + os.path.join(root, "x.pb"))
    check(rc == 2 and "holds tensor 'x', not input 'z'" in err, f"wrong name: {rc} {err!r}")
    rc, _, err = opal(os.path.join(root, "nothing"))
    check(rc == 3 and "does not exist" in err, f"missing dir: {rc} {err!r}")
    trunc = model_dir(root, "trunc", LIB, weights=b"\0" * 100)
    rc, _, err = opal(trunc)
    check(rc == 4 and "has 100 bytes, the library expects 112" in err, f"short weights: {rc} {err!r}")
    bad = model_dir(root, "bad", BAD_LIB)
    rc, _, err = opal(bad)
    check(rc == 7 and "node 'Mul_Add_m'" in err and "Halide error" in err, f"kernel error: {rc} {err!r}")
    check(sum(line.startswith("opal: error:") for line in err.splitlines()) == 1,
          f"one error line expected: {err!r}")

if failures:
    print(f"{len(failures)} failure(s)")
    sys.exit(1)
print("opal run: all checks passed")
