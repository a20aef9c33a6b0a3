"""opal.plan: the heterogeneous training planner, its plan as objects and its SVG."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from . import _opal


@dataclass(frozen=True)
class Stage:
    """A pipeline stage: layers [first, end), its GPU type, count, tensor and data parallel degrees,
    times per micro-batch (seconds) and memory per GPU (bytes)."""

    first: int
    end: int
    gpu: str
    instance: str
    gpus: int
    tp: int
    dp: int
    fwd_s: float
    bwd_s: float
    memory_bytes: float
    price_per_hour: float
    time_source: str
    raw: dict = field(repr=False, compare=False)


@dataclass(frozen=True)
class Plan:
    """A training plan: stages, micro-batching, iteration time and price."""

    stages: list[Stage]
    micro_batch: int
    num_micro_batches: int
    gpus: int
    iteration_s: float
    price_per_hour: float
    cost_per_iteration: float
    raw: dict = field(repr=False, compare=False)

    @staticmethod
    def from_json(j: dict) -> "Plan":
        stages = [Stage(first=s["layers"][0], end=s["layers"][1], gpu=s["gpu"], instance=s.get("instance", ""),
                        gpus=s["gpus"], tp=s["tp"], dp=s["dp"], fwd_s=s["fwd_s"], bwd_s=s["bwd_s"],
                        memory_bytes=s["memory_bytes"], price_per_hour=s.get("price_per_hour", 0.0),
                        time_source=s.get("time_source", ""), raw=s) for s in j["stages"]]
        return Plan(stages=stages, micro_batch=j["micro_batch"], num_micro_batches=j["num_micro_batches"],
                    gpus=j["gpus"], iteration_s=j["iteration_s"], price_per_hour=j["price_per_hour"],
                    cost_per_iteration=j["cost_per_iteration"], raw=j)


@dataclass(frozen=True)
class SimEvent:
    """An interval of the simulated iteration of the best plan (seconds from its start)."""

    stage: int
    micro_batch: int
    kind: str  # "forward", "backward", "send", "allreduce", "update"
    start_s: float
    end_s: float


@dataclass
class PlanResult:
    """The planner's answer (format opal.plan/1): the best plan, the best homogeneous plan per
    GPU type, the time/cost Pareto front, the gain, the simulated iteration and the SVG."""

    best: Plan
    homogeneous: dict[str, Plan | None]
    pareto: list[Plan]
    gain: dict | None
    events: list[SimEvent]
    simulated_iteration_s: float
    svg: str
    text: str
    raw: dict = field(repr=False)

    def __str__(self) -> str:
        return self.text

    def to_json(self) -> dict:
        """The document ``opal plan --json`` prints (with the simulated events)."""
        return {k: v for k, v in self.raw.items() if k not in ("svg", "text")}

    def save(self, path: str | os.PathLike) -> None:
        """Writes the opal.plan/1 JSON (what ``opal report --plan`` reads)."""
        with open(path, "w") as f:
            json.dump(self.to_json(), f, indent=2)

    def save_svg(self, path: str | os.PathLike) -> None:
        """Writes the SVG (pipeline timeline of the best plan and the Pareto front)."""
        with open(path, "w") as f:
            f.write(self.svg)

    def _repr_svg_(self) -> str:  # notebooks show the picture
        return self.svg


def plan(model: str | os.PathLike, cluster: str | os.PathLike, goal: str = "throughput", *,
         profiles: str | os.PathLike | None = None, network: str | os.PathLike | None = None,
         catalog: str | os.PathLike | None = None, global_batch: int = 0, iterations: int = 0,
         time_limit: float = 2.0, max_stages: int = 0, pareto_points: int = 4) -> PlanResult:
    """Plans training of ``model`` (a transformer JSON, or an ONNX forward graph with
    ``global_batch``) on the GPUs of ``cluster`` (a cluster JSON) for ``goal`` ("throughput",
    "cost", "deadline=36h", "budget=50000", "hourly=300"), as ``opal plan`` does. Layer times come
    from measured ``profiles`` (Sailor format) when given, else the calibrated roofline;
    ``network``: measured link curves. ``time_limit``: seconds per search (0: to the proven
    optimum). Raises :class:`opal.FailedError` when no plan fits memory and the goal."""
    req = {
        "model": os.fspath(model), "cluster": os.fspath(cluster), "goal": goal,
        "profiles": os.fspath(profiles) if profiles else "", "network": os.fspath(network) if network else "",
        "catalog": os.fspath(catalog) if catalog else "", "global_batch": int(global_batch),
        "iterations": int(iterations), "time_limit": float(time_limit), "max_stages": int(max_stages),
        "pareto_points": int(pareto_points),
    }
    j = json.loads(_opal.plan_json(req))
    homo = {h["gpu"]: Plan.from_json(h["plan"]) if h.get("found") else None for h in j.get("homogeneous", [])}
    return PlanResult(best=Plan.from_json(j["best"]), homogeneous=homo,
                      pareto=[Plan.from_json(p) for p in j.get("pareto", [])], gain=j.get("gain"),
                      events=[SimEvent(**e) for e in j.get("events", [])],
                      simulated_iteration_s=j.get("simulated_iteration_s", 0.0), svg=j["svg"], text=j["text"], raw=j)


__all__ = ["Stage", "Plan", "SimEvent", "PlanResult", "plan"]
