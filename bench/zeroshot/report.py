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


def remeasured(key):
    """GFLOP/s of each search's winner per round of the side-by-side re-timing (opal measure), or None."""
    path = os.path.join(out, f"remeasure-{key}.json")
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return None
    by = {}
    for src in json.load(open(path))["sources"]:
        name = src["source"]
        if name == "default":
            mode = "default"
        elif name == "config 1":  # run.sh passes the zero-shot's chosen config as --config
            mode = "zeroshot"
        else:
            mode = os.path.basename(name.split(":", 1)[-1]).split("-", 1)[0]
        by[mode] = src["gflops"]
    return by


def median(v):
    v = sorted(v)
    return (v[(len(v) - 1) // 2] + v[len(v) // 2]) / 2 if v else 0.0


def round_ratio(a, b):
    """Median over rounds of a's GFLOP/s over b's in the same round: the machine's speed drifts
    between rounds (and switches between two speeds for minutes), a round's pair shares it."""
    return median([x / y for x, y in zip(a, b) if x > 0 and y > 0]) if a and b else float("nan")


rows, ratios, speedups, curves, stored_ratios, over_default = [], [], [], [], [], []
for line in open(os.path.join(out, "tasks.tsv")):
    m, key, _ = line.rstrip("\n").split("\t")
    zs, tu = best(trials(key, "zeroshot")), best(trials(key, "tuned"))
    if tu > 0 and zs > 0:
        stored_ratios.append(zs / tu)
    rm = remeasured(key)
    dflt, zd = 0.0, float("nan")
    ratio = zs / tu if tu > 0 else float("nan")
    if rm:  # the fair comparison: the winners (and the template's default) re-timed side by side
        zs, tu, dflt = median(rm.get("zeroshot", [])), median(rm.get("tuned", [])), median(rm.get("default", []))
        ratio = round_ratio(rm.get("zeroshot", []), rm.get("tuned", []))
        zd = round_ratio(rm.get("zeroshot", []), rm.get("default", []))
    if zd == zd:
        over_default.append(zd)
    tz, tt = times.get((key, "zeroshot"), 0), times.get((key, "tuned"), 0)
    rows.append((m, key, zs, tu, ratio, tz, tt, dflt, zd))
    if ratio == ratio and ratio > 0:
        ratios.append(ratio)
        speedups.append(tt / tz if tz > 0 else float("nan"))
    rnd, gd = trials(key, "random"), trials(key, "guided")
    level = 0.95 * max(best(rnd), best(gd))
    curves.append((m, key, trials_to(rnd, level), trials_to(gd, level), len(rnd), len(gd)))

print(f"{'model':<18} {'task':<24} {'zero-shot':>10} {'tuned':>10} {'default':>8} {'ratio':>6} {'zs/dflt':>7}"
      f" {'zs s':>7} {'tuned s':>8}")
for m, key, zs, tu, ratio, tz, tt, dflt, zd in rows:
    print(f"{m:<18} {key:<24} {zs:>10.1f} {tu:>10.1f} {dflt:>8.1f} {ratio:>6.2f} {zd:>7.2f} {tz:>7.1f} {tt:>8.1f}")
gm = lambda v: math.exp(sum(math.log(x) for x in v) / len(v)) if v else float("nan")
print(f"\ngeometric mean: zero-shot / tuned GFLOP/s = {gm(ratios):.3f} (lowest {min(ratios or [float('nan')]):.3f};"
      f" {sum(r < 0.9 for r in ratios)} of {len(ratios)} below 0.9, {sum(r < 0.8 for r in ratios)} below 0.8);"
      f" tuning time / zero-shot time = {gm(speedups):.1f}x")
if over_default:
    print(f"zero-shot / the template's default GFLOP/s: geometric mean {gm(over_default):.3f},"
          f" lowest {min(over_default):.3f}")
print(f"(GFLOP/s {'re-timed side by side: medians, ratios the median of per-round ratios' if any(remeasured(r[1]) for r in rows) else 'of each search'};"
      f" from each search's own best trial the ratio is {gm(stored_ratios):.3f})")
ev = json.load(open(os.path.join(out, "eval.json")))
print(f"held-out ranking: pairwise accuracy {ev['pairwise_accuracy']:.3f}, top-1 {ev['top1']:.3f}, "
      f"top-5 {ev['top5']:.3f} over {ev['groups']} tasks ({ev['trials']} trials)")
wins = 0
if any(nr and ng for *_, nr, ng in curves):  # MODES included random and guided
    print(f"\ntrials to reach 95% of the best found (random vs model-guided):")
    for m, key, r, g, nr, ng in curves:
        print(f"  {m:<14} {key:<30} random {r if r else '>' + str(nr):>5}  guided {g if g else '>' + str(ng):>5}")
        wins += (g or 10**9) < (r or 10**9)
    print(f"model-guided reached it first on {wins} of {len(curves)} tasks")

# Search curves: best-so-far GFLOP/s after n trials / best found by any search of that task,
# geometric mean over tasks, for the default evolutionary search ("tuned"), random and guided.
modes = [("random", "random"), ("tuned", "evolutionary"), ("guided", "model-guided")]
modes = [(m, label) for m, label in modes  # the searches that ran
         if any(trials(line.split("\t")[1], m) for line in open(os.path.join(out, "tasks.tsv")))]
per_task = {}
for line in open(os.path.join(out, "tasks.tsv")):
    key = line.split("\t")[1]
    recs = {mode: trials(key, mode) for mode, _ in modes}
    top = max(best(r) for r in recs.values())
    if top > 0:
        per_task[key] = (recs, top)


def best_after(recs, n):
    return max([r["gflops"] for r in recs[:n] if r["status"] == "ok"] or [0.0])


longest = max([len(r) for recs, _ in per_task.values() for r in recs.values()] or [0])
points = [n for n in (1, 2, 4, 8, 16, 24, 32, 48, 64, 96, 128, 192, 256) if n <= longest] or [1]
curve = {}
for mode, _ in modes:
    curve[mode] = [gm([max(best_after(recs[mode], n), 1e-3) / top for recs, top in per_task.values()])
                   for n in points]
print("\nsearch curves: best-so-far / best found by any search, geometric mean over "
      f"{len(per_task)} tasks")
print(f"{'trials':>8} " + " ".join(f"{label:>13}" for _, label in modes))
for i, n in enumerate(points):
    print(f"{n:>8} " + " ".join(f"{curve[mode][i]:>13.3f}" for mode, _ in modes))
for mode, label in modes:
    hit = next((n for n, v in zip(points, curve[mode]) if v >= 0.95), None)
    print(f"  {label:<13} reaches 0.95 of the best after {hit if hit else '>' + str(points[-1])} trials (mean curve)")

# The same curves as an SVG (trials on a log axis).
W, H, L, B = 560, 320, 50, 40
colors = {"random": "#888888", "tuned": "#1f77b4", "guided": "#d62728"}
x = lambda n: L + (W - L - 20) * math.log(n) / math.log(max(points[-1], 2))
y = lambda v: H - B - (H - B - 20) * max(0.0, min(1.0, v))
svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="11">',
       f'<text x="{L}" y="14">best-so-far / best found (geomean over {len(per_task)} held-out tasks)</text>',
       f'<line x1="{L}" y1="{H - B}" x2="{W - 20}" y2="{H - B}" stroke="black"/>',
       f'<line x1="{L}" y1="{H - B}" x2="{L}" y2="20" stroke="black"/>',
       f'<line x1="{L}" y1="{y(0.95)}" x2="{W - 20}" y2="{y(0.95)}" stroke="#bbb" stroke-dasharray="4"/>',
       f'<text x="{W - 60}" y="{y(0.95) - 3}">0.95</text>',
       f'<text x="{W // 2}" y="{H - 8}">trials</text>']
for n in points:
    svg.append(f'<text x="{x(n) - 6}" y="{H - B + 14}">{n}</text>')
for v in (0, 0.25, 0.5, 0.75, 1.0):
    svg.append(f'<text x="{L - 30}" y="{y(v) + 4}">{v:.2f}</text>')
for i, (mode, label) in enumerate(modes):
    pts = " ".join(f"{x(n):.1f},{y(v):.1f}" for n, v in zip(points, curve[mode]))
    svg.append(f'<polyline fill="none" stroke="{colors[mode]}" stroke-width="2" points="{pts}"/>')
    svg.append(f'<text x="{L + 10}" y="{40 + 14 * i}" fill="{colors[mode]}">{label}</text>')
svg.append("</svg>")
open(os.path.join(out, "curves.svg"), "w").write("\n".join(svg) + "\n")
json.dump({"points": points, "curves": curve, "tasks": len(per_task), "stored_ratio_geomean": gm(stored_ratios),
           "zero_shot_over_tuned_geomean": gm(ratios), "zero_shot_over_tuned_min": min(ratios or [float("nan")]),
           "zero_shot_over_default_geomean": gm(over_default), "tuning_time_over_zero_shot_geomean": gm(speedups),
           "heldout": ev, "guided_first": wins, "curve_tasks": len(curves)},
          open(os.path.join(out, "summary.json"), "w"), indent=2)
print(f"\nwrote {os.path.join(out, 'curves.svg')} and summary.json")
