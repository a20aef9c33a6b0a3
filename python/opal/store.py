"""opal.Store (the tuning-record store) and opal.CostModel (the learned cost model)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import _opal


@dataclass(frozen=True)
class Record:
    """One measured trial (format opal.record/1): a config of a workload on a target, its status
    ("ok", "build_error", ...), every repeat's time and the median, GFLOP/s, provenance."""

    uid: str
    workload_key: str
    op: str
    target_key: str
    framework: str
    framework_version: str
    config: str
    status: str
    error: str
    median_s: float
    gflops: float
    times_s: list[float]
    timestamp_us: int
    raw: dict = field(repr=False, compare=False)

    @property
    def workload(self) -> dict:
        """The workload's canonical fields."""
        w = self.raw.get("workload_json", self.raw.get("workload", "{}"))
        return json.loads(w) if isinstance(w, str) else w

    @staticmethod
    def from_json(j: dict) -> "Record":
        cfg = j.get("config_json", j.get("config", ""))
        return Record(
            uid=j.get("uid", ""), workload_key=j.get("workload_key", ""), op=j.get("op", ""),
            target_key=j.get("target_key", ""), framework=j.get("framework", ""),
            framework_version=j.get("framework_version", ""),
            config=cfg if isinstance(cfg, str) else json.dumps(cfg, sort_keys=True, separators=(",", ":")),
            status=j.get("status", ""), error=j.get("error", ""), median_s=float(j.get("median_s", 0)),
            gflops=float(j.get("gflops", 0)), times_s=list(j.get("times_s", [])),
            timestamp_us=int(j.get("timestamp_us", 0)), raw=j)


@dataclass(frozen=True)
class StoreStats:
    """Records of one (target, op) pair, as ``opal db stats`` prints them."""

    target: str
    op: str
    records: int
    ok_records: int
    workloads: int
    best_gflops: float


def _filter(workload: str = "", target: str = "", op: str = "", framework: str = "",
            framework_version: str = "", ok_only: bool = False) -> dict:
    return {"workload": workload, "target": target, "op": op, "framework": framework,
            "framework_version": framework_version, "ok_only": bool(ok_only)}


class Store:
    """The tuning-record store named by a DSN: ``sqlite:PATH`` (a plain path means that),
    ``postgresql://USER@HOST:PORT/DB``, or ``memory:``; ``None`` is ``$OPAL_STORE`` or the user's
    SQLite file. Opening creates a SQLite file when absent. Not shared between threads."""

    def __init__(self, dsn: str | os.PathLike | None = None):
        d = "" if dsn is None else os.fspath(dsn)
        if d and ":" not in d:
            d = "sqlite:" + d
        self.dsn = d or _opal.default_store_dsn()
        self._s = _opal.Store(self.dsn)

    def __repr__(self) -> str:
        return f"<opal.Store {self._s.description}>"

    @property
    def description(self) -> str:
        """The DSN with any password replaced by ***."""
        return self._s.description

    def stats(self) -> list[StoreStats]:
        """Per target and op: records, valid records, workloads, best GFLOP/s."""
        return [StoreStats(**r) for r in self._s.summary()]

    def best(self, workload: str | dict, target: str = "host", k: int = 1, coarse: bool = False) -> list[Record]:
        """The ``k`` fastest valid records of a workload (its key or its JSON) on a target (a
        target string, "host", or a target key as :meth:`stats` shows it); ``coarse`` fills up from
        devices of the same coarse key. Fastest first; empty when there is none."""
        w = json.dumps(workload) if isinstance(workload, dict) else str(workload)
        return [Record.from_json(json.loads(r)) for r in self._s.top_k(w, target, int(k), bool(coarse))]

    def records(self, *, workload: str = "", target: str = "", op: str = "", framework: str = "",
                framework_version: str = "", ok_only: bool = False, limit: int = 0) -> list[Record]:
        """Records matching the filters (exact keys; empty matches all), in insertion order."""
        f = _filter(workload, target, op, framework, framework_version, ok_only)
        return [Record.from_json(json.loads(r)) for r in self._s.scan(f, int(limit))]

    def count(self, **filters: Any) -> int:
        """How many records match the filters of :meth:`records`."""
        return self._s.count(_filter(**filters))

    def export(self, path: str | os.PathLike, **filters: Any) -> int:
        """Writes matching records as JSON lines (``opal db export``); returns how many."""
        return self._s.export(os.fspath(path), _filter(**filters))

    def import_records(self, *paths: str | os.PathLike) -> tuple[int, int]:
        """Adds the records of JSON-lines files (``opal db import``): every line is checked first,
        so a bad file imports nothing. Returns (records read, records new to this store)."""
        seen = added = 0
        for p in paths:
            p = os.fspath(p)
            try:
                with open(p, encoding="utf-8") as f:
                    lines = f.read().split("\n")
            except FileNotFoundError:
                raise _opal.NotFoundError(f"cannot read {p}") from None
            n, a = self._s.import_lines(lines, p)
            seen, added = seen + n, added + a
        return seen, added


@dataclass(frozen=True)
class Prediction:
    """The cost model's view of one config of a workload: its score (relative: higher is faster
    within the workload) and, when a reference is known, the time it implies."""

    config: str
    score: float
    time_s: float | None


class CostModel:
    """A trained cost model: a file written by ``opal costmodel train``, ``"@NAME"`` for one
    registered in the store, or ``"@"`` for the newest registered one.

    Its scores are relative: the model learns GFLOP/s divided by the best GFLOP/s of the same
    workload and target, so it ranks configs of one workload. :meth:`predict` turns a score into
    seconds with the workload's best measured GFLOP/s on the target (from a store), which is the
    only honest anchor such a model has; a workload never measured there has no predicted time.
    """

    def __init__(self, spec: str | os.PathLike, store: Any = None):
        self.spec = os.fspath(spec)
        dsn = "" if store is None else getattr(store, "dsn", store)
        self._m = _opal.CostModel(self.spec, dsn)
        self.info: dict = json.loads(self._m.info_json())

    def __repr__(self) -> str:
        return (f"<opal.CostModel {self.spec}: {self.info['framework']} {self.info['objective']}, "
                f"{self.info['rows']} rows, {self.info['groups']} groups>")

    def scores(self, workload: dict | str, configs: Sequence[str | dict], target: str = "host") -> list[float]:
        """Scores of configs of one workload on a target (higher is faster)."""
        w = workload if isinstance(workload, str) else json.dumps(workload)
        cs = [c if isinstance(c, str) else json.dumps(c) for c in configs]
        return list(self._m.scores(w, cs, target)) if cs else []

    def predict(self, workload: dict | str, configs: Sequence[str | dict], target: str = "host",
                store: "Store | None" = None) -> list[Prediction]:
        """Scores of ``configs`` and, with a store holding valid records of the workload on the
        target and a model trained on the relative GFLOP/s label (a regression objective), each
        config's predicted time: FLOPs / (score x best stored GFLOP/s)."""
        scores = self.scores(workload, configs, target)
        times: list[float | None] = [None] * len(scores)
        w = workload if isinstance(workload, dict) else json.loads(workload)
        if store is not None and self.info.get("objective", "").startswith("reg:"):
            best = store.best(w, target, k=1)
            if best and best[0].gflops > 0:
                flops = best[0].gflops * 1e9 * best[0].median_s
                times = [flops / (s * best[0].gflops * 1e9) if s > 0 else None for s in scores]
        cs = [c if isinstance(c, str) else json.dumps(c, sort_keys=True, separators=(",", ":")) for c in configs]
        return [Prediction(c, s, t) for c, s, t in zip(cs, scores, times)]


__all__ = ["Record", "StoreStats", "Store", "Prediction", "CostModel"]
