"""Summarizes bench/zeroshot/run.sh: zero-shot vs tuned per task, model-guided vs random search."""
import json
import math
import os
import sys

out = sys.argv[1]
times = {}
for line in open(os.path.join(out, "times.tsv")):
    m, key, mode, secs = line.rstrip("\n").split("\t")
    times[(key, mode)] = float(secs)


def trials(key, mode):
    path = os.path.join(out, f"{mode}-{key}.jsonl")
    recs = [json.loads(l) for l in open(path)] if os.path.exists(path) else []
    return sorted(recs, key=lambda r: r["timestamp_us"])


def best(recs):
    return max([r["gflops"] for r in recs if r["status"] == "ok"] or [0.0])


def trials_to(recs, level):
    b = 0.0
    for i, r in enumerate(recs, 1):
        if r["status"] == "ok":
            b = max(b, r["gflops"])
        if b >= level:
            return i
    return None


rows, ratios, speedups, curves = [], [], [], []
for line in open(os.path.join(out, "tasks.tsv")):
    m, key, _ = line.rstrip("\n").split("\t")
    zs, tu = best(trials(key, "zeroshot")), best(trials(key, "tuned"))
    ratio = zs / tu if tu > 0 else float("nan")
    tz, tt = times.get((key, "zeroshot"), 0), times.get((key, "tuned"), 0)
    rows.append((m, key, zs, tu, ratio, tz, tt))
    if tu > 0 and zs > 0:
        ratios.append(ratio)
        speedups.append(tt / tz if tz > 0 else float("nan"))
    rnd, gd = trials(key, "random"), trials(key, "guided")
    level = 0.95 * max(best(rnd), best(gd))
    curves.append((m, key, trials_to(rnd, level), trials_to(gd, level), len(rnd), len(gd)))

print(f"{'model':<14} {'task':<30} {'zero-shot':>10} {'tuned':>10} {'ratio':>6} {'zs s':>7} {'tuned s':>8}")
for m, key, zs, tu, ratio, tz, tt in rows:
    print(f"{m:<14} {key:<30} {zs:>10.1f} {tu:>10.1f} {ratio:>6.2f} {tz:>7.1f} {tt:>8.1f}")
gm = lambda v: math.exp(sum(math.log(x) for x in v) / len(v)) if v else float("nan")
print(f"\ngeometric mean: zero-shot / tuned GFLOP/s = {gm(ratios):.3f}; tuning time / zero-shot time = {gm(speedups):.1f}x")
ev = json.load(open(os.path.join(out, "eval.json")))
print(f"held-out ranking: pairwise accuracy {ev['pairwise_accuracy']:.3f}, top-1 {ev['top1']:.3f}, "
      f"top-5 {ev['top5']:.3f} over {ev['groups']} tasks ({ev['trials']} trials)")
print(f"\ntrials to reach 95% of the best found (random vs model-guided):")
wins = 0
for m, key, r, g, nr, ng in curves:
    print(f"  {m:<14} {key:<30} random {r if r else '>' + str(nr):>5}  guided {g if g else '>' + str(ng):>5}")
    wins += (g or 10**9) < (r or 10**9)
print(f"model-guided reached it first on {wins} of {len(curves)} tasks")
