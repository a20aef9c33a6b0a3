#!/usr/bin/python3
"""Table of bench/e2e/run.sh results. For each model PREFIX: PREFIX.deliver.json (`opal deliver
--json`: kernel sources, build time) and PREFIX.rounds.jsonl (one line per round: `opal run
--json` and torch_peer.py --json). usage: report.py [--budget S] [--threads T] PREFIX..."""
import argparse
import json
import math
import os
import statistics


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--budget", default="?")
    p.add_argument("--threads", default="?")
    p.add_argument("prefixes", nargs="+")
    a = p.parse_args()
    print(f"batch 1, {a.threads} threads, tuning budget {a.budget} s per model (misses only); "
          "medians over rounds that alternate opal and PyTorch\n")
    print(f"{'model':<22} {'opal p50 ms':>11} {'PyTorch p50 ms':>14} {'speedup':>8} {'(range)':>13}  "
          f"{'build s':>7}  kernels (sources)")
    ratios = []
    mode = ""
    for prefix in a.prefixes:
        d = json.load(open(prefix + ".deliver.json"))
        rounds = [json.loads(l) for l in open(prefix + ".rounds.jsonl") if l.strip()]
        o = [r["opal"]["bench"]["p50_ms"] for r in rounds]
        t = [r["pytorch"]["p50_ms"] for r in rounds]
        mode = rounds[0]["pytorch"].get("mode", "")
        per_round = [y / x for x, y in zip(o, t)]
        r = statistics.median(per_round)
        ratios.append(r)
        src = {}
        for task in d["tasks"]:
            src[task["source"]] = src.get(task["source"], 0) + 1
        srcs = ", ".join(f"{v} {k}" for k, v in sorted(src.items()))
        rng = f"{min(per_round):.2f}-{max(per_round):.2f}"
        print(f"{os.path.basename(prefix):<22} {statistics.median(o):>11.3f} {statistics.median(t):>14.3f} "
              f"{r:>7.2f}x {rng:>13}  {d['build_s']:>7.1f}  {srcs}")
    g = math.exp(sum(math.log(x) for x in ratios) / len(ratios))
    print(f"\ngeometric mean speedup over PyTorch: {g:.2f}x ({len(ratios)} models); PyTorch ran as: {mode}")


if __name__ == "__main__":
    main()
