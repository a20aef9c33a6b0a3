#!/usr/bin/python3
"""Table of bench/e2e/run.sh results. For each model PREFIX: PREFIX.deliver.json (`opal deliver
--json`: kernel sources, build time), PREFIX.rounds.jsonl (one line per round: `opal run --json`,
ort_peer.js and torch_peer.py --json), PREFIX.ort_output.bin (onnxruntime's first output) and
PREFIX/outputs/*.pb (opal's). usage: report.py [--budget S] [--threads T] [--json FILE] PREFIX..."""
import argparse
import glob
import json
import math
import os
import statistics

import numpy as np
import onnx
from onnx import numpy_helper


def rel_l2(prefix):
    outs = sorted(glob.glob(os.path.join(prefix, "outputs", "*.pb")))
    ort = prefix + ".ort_output.bin"
    if not outs or not os.path.exists(ort):
        return None
    a = numpy_helper.to_array(onnx.load_tensor(outs[0])).astype(np.float64).ravel()
    b = np.fromfile(ort, dtype=np.float32).astype(np.float64)
    if a.size != b.size:
        return None
    if not np.linalg.norm(b) > 0:
        # An all-zero reference (e.g. torchvision's ViT, whose zero-initialised head makes every
        # logit 0) proves nothing about the rest of the model: say so instead of printing 0.
        return float("nan")
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def geomean(xs):
    xs = [x for x in xs if x]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--budget", default="?")
    p.add_argument("--threads", default="?")
    p.add_argument("--json")
    p.add_argument("prefixes", nargs="+")
    a = p.parse_args()
    print(f"batch 1, {a.threads} threads, tuning budget {a.budget} s per model; medians over rounds that "
          "alternate opal, onnxruntime and PyTorch; ratios are medians of per-round ratios (>1: opal faster)\n")
    print(f"{'model':<22} {'opal p50':>8} {'p90':>7} {'ORT p50':>8} {'torch p50':>9} {'ORT/opal':>9} {'(range)':>11} "
          f"{'torch/opal':>10} {'relL2':>8} {'build s':>7}  kernels (sources)")
    rows, ort_ratios, torch_ratios = [], [], []
    for prefix in a.prefixes:
        d = json.load(open(prefix + ".deliver.json"))
        rounds = [json.loads(l) for l in open(prefix + ".rounds.jsonl") if l.strip()]
        o = [r["opal"]["bench"]["p50_ms"] for r in rounds]
        o90 = [r["opal"]["bench"]["p90_ms"] for r in rounds]
        x = [r["onnxruntime"]["p50_ms"] for r in rounds]
        t = [r["pytorch"]["p50_ms"] for r in rounds if r.get("pytorch")]
        rx = [xi / oi for oi, xi in zip(o, x)]
        rt = [r["pytorch"]["p50_ms"] / r["opal"]["bench"]["p50_ms"] for r in rounds if r.get("pytorch")]
        ort_ratios.append(statistics.median(rx))
        if rt:
            torch_ratios.append(statistics.median(rt))
        src = {}
        for task in d.get("tasks", []):
            src[task["source"]] = src.get(task["source"], 0) + 1
        srcs = ", ".join(f"{v} {k}" for k, v in sorted(src.items()))
        err = rel_l2(prefix)
        name = os.path.basename(prefix)
        tmed = statistics.median(t) if t else float("nan")
        trat = f"{statistics.median(rt):.2f}x" if rt else "-"
        print(f"{name:<22} {statistics.median(o):>8.2f} {statistics.median(o90):>7.2f} {statistics.median(x):>8.2f} "
              f"{tmed:>9.2f} {statistics.median(rx):>8.2f}x {min(rx):.2f}-{max(rx):.2f}  {trat:>10} "
              f"{('-' if err is None else 'zero-ref' if err != err else f'{err:.1e}'):>8} {d.get('build_s', 0):>7.1f}  {srcs}")
        rows.append({"model": name, "opal_p50_ms": statistics.median(o), "opal_p90_ms": statistics.median(o90),
                     "onnxruntime_p50_ms": statistics.median(x), "pytorch_p50_ms": tmed if t else None,
                     "onnxruntime_over_opal": statistics.median(rx), "range": [min(rx), max(rx)],
                     "pytorch_over_opal": statistics.median(rt) if rt else None, "rel_l2_vs_onnxruntime": err if err == err else None, "onnxruntime_output_all_zero": err != err,
                     "build_s": d.get("build_s"), "sources": src})
    print(f"\ngeometric mean onnxruntime/opal {geomean(ort_ratios):.2f}x, PyTorch/opal {geomean(torch_ratios):.2f}x "
          f"({len(rows)} models)")
    if a.json:
        json.dump({"threads": a.threads, "budget": a.budget, "models": rows}, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()
