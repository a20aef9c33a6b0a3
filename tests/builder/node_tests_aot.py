#!/usr/bin/python3
"""ONNX backend node tests (Debian's libonnx-testdata) built by `opal build` into a library and run
by `opal run`: the deliverable path end to end, kernel by kernel. (src/lower/node_tests_test.cc
runs the same tests through Halide's JIT in the fast tier; this is the slow-tier check that the
ahead-of-time path agrees.)

usage: node_tests_aot.py OPAL [--filter SUBSTRING] [--jobs N] [--limit N]
A test is "unsupported" when the build exits with 5 (an operator or type opal cannot lower) or the
import rejects the model (exit 2/4); any other failure or a mismatch fails the run.
Tolerance: |got - want| <= 1e-4 + 1e-4 |want| for floats (NaN equals NaN), exact otherwise.
"""
import argparse
import concurrent.futures as cf
import glob
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

ROOT = "/usr/share/libonnx-testdata/data/node"
UNSUPPORTED_EXIT = {2, 4, 5}


def matches(got, want):
    if got.shape != want.shape:
        return f"shape {got.shape} != {want.shape}"
    if want.dtype.kind == "f":
        g, w = got.astype(np.float64), want.astype(np.float64)
        both_nan = np.isnan(g) & np.isnan(w)
        bad = ~both_nan & ~(np.abs(g - w) <= 1e-4 + 1e-4 * np.abs(w))
        return f"{int(bad.sum())} of {w.size} values differ, max |diff| {np.nanmax(np.abs(g - w)):.3g}" if bad.any() else ""
    return "" if np.array_equal(got, want) else "values differ"


def run_one(opal, d, tmp):
    data = os.path.join(d, "test_data_set_0")
    model = onnx.load(os.path.join(d, "model.onnx"))
    init = {i.name for i in model.graph.initializer}
    names = [i.name for i in model.graph.input if i.name not in init]
    out = os.path.join(tmp, os.path.basename(d))
    cmd = [opal, "build", os.path.join(d, "model.onnx"), "-o", out, "--no-store", "-j", "1"]
    for n in names:
        cmd += ["--input", n]
    b = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if b.returncode in UNSUPPORTED_EXIT:
        return "unsupported", b.stderr.strip().splitlines()[-1] if b.stderr.strip() else ""
    if b.returncode != 0:
        return "failed", "build: " + b.stderr.strip()[-300:]
    cmd = [opal, "run", out, "--output-dir", out + "/outs", "--threads", "1"]
    for i, n in enumerate(names):
        cmd += ["--input", f"{n}={os.path.join(data, f'input_{i}.pb')}"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        return "failed", "run: " + r.stderr.strip()[-300:]
    for i, o in enumerate(model.graph.output):
        want = numpy_helper.to_array(onnx.load_tensor(os.path.join(data, f"output_{i}.pb")))
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in o.name)
        got = numpy_helper.to_array(onnx.load_tensor(os.path.join(out, "outs", safe + ".pb")))
        why = matches(got, want)
        if why:
            return "failed", f"output {o.name}: {why}"
    return "passed", ""


def main():
    p = argparse.ArgumentParser()
    p.add_argument("opal")
    p.add_argument("--filter", default="")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--limit", type=int, default=0)
    a = p.parse_args()
    dirs = sorted(d for d in glob.glob(os.path.join(ROOT, "*")) if a.filter in os.path.basename(d)
                  and os.path.isdir(os.path.join(d, "test_data_set_0")))
    if a.limit:
        dirs = dirs[: a.limit]
    counts = {"passed": 0, "failed": 0, "unsupported": 0}
    failures = []
    with tempfile.TemporaryDirectory() as tmp, cf.ThreadPoolExecutor(a.jobs) as ex:
        futures = {ex.submit(run_one, a.opal, d, tmp): d for d in dirs}
        for f in cf.as_completed(futures):
            name = os.path.basename(futures[f])
            try:
                outcome, why = f.result()
            except Exception as e:  # a crash of the harness itself is a failure too
                outcome, why = "failed", repr(e)
            counts[outcome] += 1
            if outcome == "failed":
                failures.append(f"{name}: {why}")
    tried = counts["passed"] + counts["failed"]
    print(f"node tests (built and run by opal): tried {tried}, passed {counts['passed']}, "
          f"failed {counts['failed']}, unsupported {counts['unsupported']}")
    for f in sorted(failures):
        print("  FAILED", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
