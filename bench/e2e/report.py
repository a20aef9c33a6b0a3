#!/usr/bin/python3
"""Table of `opal deliver --json` results: latency of opal vs PyTorch per model, and the sources
of the kernels (store / tuned / zero-shot / default). usage: report.py [--budget S] [--threads T] FILE..."""
import argparse
import json
import math
import os


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--budget", default="?")
    p.add_argument("--threads", default="?")
    p.add_argument("files", nargs="+")
    a = p.parse_args()
    print(f"batch 1, {a.threads} threads, tuning budget {a.budget} s per model (misses only)\n")
    print(f"{'model':<22} {'opal p50 ms':>11} {'PyTorch p50 ms':>14} {'speedup':>8}  {'build s':>7}  kernels (sources)")
    ratios = []
    for f in a.files:
        r = json.load(open(f))
        name = os.path.splitext(os.path.basename(f))[0]
        src = {}
        for t in r["tasks"]:
            src[t["source"]] = src.get(t["source"], 0) + 1
        srcs = ", ".join(f"{v} {k}" for k, v in sorted(src.items()))
        o = r["opal"]["p50_ms"]
        if "pytorch" in r:
            t = r["pytorch"]["p50_ms"]
            ratios.append(t / o)
            print(f"{name:<22} {o:>11.3f} {t:>14.3f} {t / o:>7.2f}x  {r['build_s']:>7.1f}  {srcs}  [{r['pytorch']['mode']}]")
        else:
            print(f"{name:<22} {o:>11.3f} {'-':>14} {'-':>8}  {r['build_s']:>7.1f}  {srcs}  ({r.get('pytorch_error', '')})")
    if ratios:
        g = math.exp(sum(math.log(x) for x in ratios) / len(ratios))
        print(f"\ngeometric mean speedup over PyTorch: {g:.2f}x ({len(ratios)} models)")


if __name__ == "__main__":
    main()
