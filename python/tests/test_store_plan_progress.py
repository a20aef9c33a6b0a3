"""opal.tasks, opal.deliver with tuning (and its progress events), opal.Store, opal.CostModel and
opal.plan, on real data made here."""

import json
import math
import os
import subprocess

import numpy as np
import pytest

import opal
from conftest import ROOT, rel_l2

BUILD = os.environ.get("OPAL_BUILD_DIR") or os.path.join(ROOT, "build")
OPAL_CLI = os.path.join(BUILD, "bin", "opal")


def test_tasks_counts_flops_independently(two_matmuls):
    path, proto, _, _ = two_matmuls
    t = opal.tasks(path)
    assert len(t) == 2
    assert sorted(x.flops for x in t) == sorted([2 * 8 * 24 * 40, 2 * 8 * 40 * 16])
    assert abs(sum(x.share for x in t) - 1) < 1e-12
    assert t.tasks[0].total_flops >= t.tasks[1].total_flops
    assert [x.key for x in opal.tasks(proto)] == [x.key for x in t]
    assert opal.target()["cores"] >= 1


@pytest.fixture(scope="session")
def delivered(two_matmuls, store_dsn, cache):
    events = []
    with opal.on_progress(events.append):
        d = opal.deliver(two_matmuls[0], budget=30, store=store_dsn, cache=cache, runs=5,
                         compare_pytorch=False, quiet=True)
    return d, events


def test_deliver_tunes_within_the_budget_and_reports_progress(delivered, two_matmuls):
    d, events = delivered
    assert {t.source for t in d.tasks} <= {"tuned", "store", "default"}
    assert any(t.source == "tuned" for t in d.tasks)
    assert d.latency["runs"] == 5 and d.latency["p50_ms"] > 0
    x = np.random.default_rng(3).uniform(-1, 1, (8, 24)).astype(np.float32)
    _, _, w1, w2 = two_matmuls
    assert rel_l2(d.model(x), np.maximum(x @ w1, 0) @ w2) < 1e-5
    tune = [e for e in events if e.task == "tune"]
    assert tune, "no progress event reached Python"
    assert tune[-1].event == "done" and tune[-1].unit == "trials"
    done = [e.done for e in tune]
    assert done == sorted(done) and done[-1] > 0


def test_store_stats_best_records_export_import(delivered, store_dsn, tmp_path):
    s = opal.Store(store_dsn)
    stats = s.stats()
    assert stats and all(r.records >= r.ok_records >= 0 for r in stats)
    records = s.records()
    assert len(records) == sum(r.records for r in stats) == s.count()
    ok = [r for r in records if r.status == "ok"]
    assert len(ok) == sum(r.ok_records for r in stats)
    key = ok[0].workload_key
    best = s.best(key, target=ok[0].target_key, k=3)
    mine = sorted((r for r in ok if r.workload_key == key and r.target_key == ok[0].target_key),
                  key=lambda r: r.median_s)
    assert [r.uid for r in best] == [r.uid for r in mine[:3]]
    assert best[0].workload["op"] == best[0].op
    path = tmp_path / "records.jsonl"
    assert s.export(path) == len(records)
    other = opal.Store(tmp_path / "other.db")
    assert other.import_records(path) == (len(records), len(records))
    assert other.import_records(path) == (len(records), 0)  # idempotent
    bad = tmp_path / "bad.jsonl"
    bad.write_text(path.read_text().splitlines()[0] + "\n{not json}\n")
    with pytest.raises(opal.InvalidArgumentError, match=r"bad.jsonl:2: not valid JSON"):
        other.import_records(bad)
    with pytest.raises(opal.InvalidArgumentError):
        opal.Store("nosuchscheme://x")


def test_cost_model_scores_and_predicted_time(delivered, store_dsn, tmp_path):
    cm_path = tmp_path / "cm.json"
    subprocess.run([OPAL_CLI, "costmodel", "train", "--store", store_dsn, "--no-search", "-o", str(cm_path)],
                   check=True, capture_output=True)
    cm = opal.CostModel(cm_path)
    assert cm.info["rows"] >= 20 and cm.info["framework"] == "halide"
    s = opal.Store(store_dsn)
    ok = [r for r in s.records(ok_only=True)]
    key = ok[0].workload_key
    group = [r for r in ok if r.workload_key == key and r.target_key == ok[0].target_key]
    scores = cm.scores(group[0].workload, [r.config for r in group], target=group[0].raw["target"])
    assert len(scores) == len(group) and all(math.isfinite(v) for v in scores)
    assert cm.scores(group[0].workload, [group[0].config], target=group[0].raw["target"])[0] == scores[0]
    preds = cm.predict(group[0].workload, [r.config for r in group], target=group[0].raw["target"], store=s)
    best = min(group, key=lambda r: r.median_s)
    for p, v in zip(preds, scores):
        assert p.score == v
        if cm.info["objective"].startswith("reg:") and v > 0:
            # FLOPs / (score x best GFLOP/s): the best record's own time when the score is 1.
            assert p.time_s == pytest.approx(best.median_s / v, rel=1e-9)
    with pytest.raises(opal.NotFoundError):
        opal.CostModel(tmp_path / "missing.json")


def test_plan_objects_svg_and_events():
    r = opal.plan(os.path.join(ROOT, "data", "catalog", "models", "gpt_7b.json"),
                  os.path.join(ROOT, "data", "catalog", "clusters", "cloud_mix_small.json"),
                  goal="throughput", time_limit=0.5)
    stages = r.best.stages
    assert stages[0].first == 0 and all(a.end == b.first for a, b in zip(stages, stages[1:]))
    assert r.best.iteration_s > 0 and r.best.gpus == sum(s.gpus for s in stages)
    fwd = [e for e in r.events if e.kind == "forward"]
    assert len(fwd) == len(stages) * r.best.num_micro_batches
    assert r.simulated_iteration_s == pytest.approx(max(e.end_s for e in r.events))
    assert r.svg.lstrip().startswith("<svg") or r.svg.lstrip().startswith("<?xml")
    assert r.to_json()["format"] == "opal.plan/1" and "best plan" in str(r)
    costs = [p.cost_per_iteration for p in r.pareto]
    assert costs == sorted(costs)
    with pytest.raises(opal.InvalidArgumentError):
        opal.plan(os.path.join(ROOT, "data", "catalog", "models", "gpt_7b.json"),
                  os.path.join(ROOT, "data", "catalog", "clusters", "cloud_mix_small.json"), goal="nonsense")
    with pytest.raises(opal.NotFoundError):
        opal.plan("/nonexistent/model.json", os.path.join(ROOT, "data", "catalog", "clusters", "cloud_mix_small.json"))
