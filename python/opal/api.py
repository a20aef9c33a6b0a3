"""opal.tasks, opal.build, opal.deliver and opal.target: the library calls behind the CLI's
``opal tasks``, ``opal build``, ``opal deliver`` and ``opal target``."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import _opal
from ._source import onnx_file
from .compiled import CompiledModel, Latency, Manifest

ModelLike = Any  # str | os.PathLike | onnx.ModelProto | torch.nn.Module


@dataclass(frozen=True)
class Task:
    """A tuning task: one unique tunable workload of the model (docs/cli.md, ``opal tasks``)."""

    key: str
    op: str
    summary: str
    workload: dict
    count: int
    flops: float
    total_flops: float
    share: float
    nodes: list[str]


@dataclass(frozen=True)
class TaskList:
    """The model's tasks, largest FLOP share first, and what else it holds."""

    model: str
    tasks: list[Task]
    total_flops: float
    other_ops: dict[str, int]
    unsupported_ops: dict[str, int]
    skipped: list[dict]
    target: dict
    raw: dict = field(repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.tasks)

    def __iter__(self):
        return iter(self.tasks)


def _shapes(input_shapes: Mapping[str, Sequence[int]] | None) -> dict[str, list[int]]:
    return {k: [int(d) for d in v] for k, v in (input_shapes or {}).items()}


def _store_dsn(store: Any) -> str:
    """'' = the default store, '-' = none, else a DSN (a Store object gives its own)."""
    if store is None or store is True:
        return ""
    if store is False:
        return "-"
    dsn = getattr(store, "dsn", store)
    if not isinstance(dsn, (str, os.PathLike)):
        raise _opal.InvalidArgumentError(f"store must be a DSN, an opal.Store, None or False, not {type(store).__name__}")
    dsn = os.fspath(dsn)
    return dsn if ":" in dsn else "sqlite:" + dsn


def _cost_model_spec(cost_model: Any) -> str:
    if cost_model is None:
        return ""
    return os.fspath(getattr(cost_model, "spec", cost_model))


def target(spec: str = "host") -> dict:
    """The detected host (or the device a target string describes) as ``opal target --json``
    prints it: kind, arch, features, cores, caches, exact and coarse keys."""
    return json.loads(_opal.target_json(spec))


def tasks(model: ModelLike, *, example_inputs: Sequence[Any] | None = None,
          input_shapes: Mapping[str, Sequence[int]] | None = None, target: str = "host") -> TaskList:
    """The tuning tasks of a model (an ONNX path, an ``onnx.ModelProto`` or a ``torch.nn.Module``
    with ``example_inputs``): its unique tunable workloads with counts, FLOPs and shares."""
    with onnx_file(model, example_inputs) as path:
        j = json.loads(_opal.tasks_json(path, _shapes(input_shapes), target))
    ts = [Task(key=t["key"], op=t["op"], summary=t["summary"], workload=t["workload"], count=t["count"],
               flops=t["flops"], total_flops=t["total_flops"], share=t["share"], nodes=t["nodes"])
          for t in j["tasks"]]
    return TaskList(model=j["model"], tasks=ts, total_flops=j["total_flops"], other_ops=j.get("other_ops", {}),
                    unsupported_ops=j.get("unsupported_ops", {}), skipped=j.get("skipped", []),
                    target=j["target"], raw=j)


def _build_options(path: str, out_dir: str, store: Any, cost_model: Any, input_shapes, inputs, jobs: int,
                   cache: str | None, retime: int) -> dict:
    return {
        "model": path, "out_dir": out_dir, "store": _store_dsn(store), "cost_model": _cost_model_spec(cost_model),
        "input_shapes": _shapes(input_shapes), "inputs": list(inputs or []), "jobs": int(jobs),
        "retime": int(retime), "cache": "" if cache is None else os.fspath(cache),
    }


def _out_dir(out_dir: str | os.PathLike | None) -> tuple[str, bool]:
    if out_dir is not None:
        return os.fspath(out_dir), False
    return tempfile.mkdtemp(prefix="opal-model-"), True


def build(model: ModelLike, *, example_inputs: Sequence[Any] | None = None, store: Any = None,
          cost_model: Any = None, out_dir: str | os.PathLike | None = None,
          input_shapes: Mapping[str, Sequence[int]] | None = None, inputs: Sequence[str] | None = None,
          threads: int = 0, jobs: int = 0, cache: str | None = None, retime: int = 0) -> CompiledModel:
    """Builds a model with the best kernels the store knows and loads it.

    ``model``: an ONNX file path, an ``onnx.ModelProto``, or a ``torch.nn.Module`` with
    ``example_inputs`` (a tuple of tensors; exported in this process with ``torch.onnx.export``,
    opset 13, in inference mode). ``store``: a DSN or :class:`opal.Store` (default: ``$OPAL_STORE``
    or the user's SQLite store; ``False``: none, every tunable node gets the default schedule).
    ``cost_model``: a file, ``"@NAME"`` or ``"@"`` (registered in the store) or a
    :class:`opal.CostModel`, for zero-shot schedules of workloads the store lacks.
    ``out_dir``: where the library is written (default: a temporary folder removed with the
    returned object). ``threads``: kernel threads when running (0: the usable cores).
    ``jobs``, ``cache``, ``retime``, ``input_shapes``, ``inputs``: as ``opal build``'s flags.

    Raises an :class:`opal.OpalError` subclass with the CLI's message on failure.
    """
    out, temporary = _out_dir(out_dir)
    try:
        with onnx_file(model, example_inputs) as path:
            manifest = json.loads(_opal.build_json(
                _build_options(path, out, store, cost_model, input_shapes, inputs, jobs, cache, retime)))
        compiled = CompiledModel(out, threads, _temporary=temporary)
    except BaseException:
        if temporary:
            import shutil
            shutil.rmtree(out, ignore_errors=True)
        raise
    compiled._manifest = Manifest.from_json(manifest)
    return compiled


@dataclass(frozen=True)
class DeliveredTask:
    """A task of a delivery and where its kernel came from ("store", "tuned", "zero-shot",
    "default", "direct")."""

    key: str
    summary: str
    count: int
    share: float
    source: str
    gflops: float
    tune_s: float


@dataclass
class Delivery:
    """What :func:`opal.deliver` did: the tasks and their sources, the build, the loaded model,
    its latency and PyTorch's on the same ONNX graph (when it ran)."""

    model: CompiledModel
    tasks: list[DeliveredTask]
    tune_s: float
    latency: dict
    pytorch_latency: dict | None
    speedup_vs_pytorch: float | None
    pytorch_error: str
    raw: dict = field(repr=False)

    def __str__(self) -> str:
        lines = [f"{len(self.tasks)} tasks, tuned {self.tune_s:.1f} s; opal p50 {self.latency.get('p50_ms', 0):.3f} ms"]
        if self.pytorch_latency:
            lines.append(f"PyTorch p50 {self.pytorch_latency.get('p50_ms', 0):.3f} ms "
                         f"(speedup {self.speedup_vs_pytorch or 0:.2f}x)")
        return "; ".join(lines)


def deliver(model: ModelLike, *, example_inputs: Sequence[Any] | None = None, budget: float = 0,
            store: Any = None, cost_model: Any = None, out_dir: str | os.PathLike | None = None,
            runs: int = 30, threads: int = 0, compare_pytorch: bool = True, quiet: bool = False,
            input_shapes: Mapping[str, Sequence[int]] | None = None, jobs: int = 0, cache: str | None = None,
            retime: int = 0) -> Delivery:
    """The whole path of ``opal deliver``: the model's tasks, a store lookup for each, tuning of
    the missing ones within ``budget`` seconds (or zero-shot with ``cost_model``), the build, a
    benchmark of ``runs`` runs, and PyTorch on the same ONNX graph (``compare_pytorch``).
    Tuning shows progress (a bar on a terminal, lines otherwise; ``quiet`` silences it; see
    :func:`opal.on_progress` for events in Python). Arguments as :func:`build`."""
    out, temporary = _out_dir(out_dir)
    try:
        with onnx_file(model, example_inputs) as path:
            opts = _build_options(path, out, store, cost_model, input_shapes, None, jobs, cache, retime)
            opts.update(budget=float(budget), runs=int(runs), threads=int(threads), quiet=bool(quiet),
                        compare_pytorch=bool(compare_pytorch))
            j = json.loads(_opal.deliver_json(opts))
        compiled = CompiledModel(out, threads, _temporary=temporary)
    except BaseException:
        if temporary:
            import shutil
            shutil.rmtree(out, ignore_errors=True)
        raise
    compiled._manifest = Manifest.from_json(j.get("build", {}))
    ts = [DeliveredTask(key=t.get("workload_key", t.get("key", "")), summary=t.get("workload", ""),
                        count=t.get("count", 0), share=t.get("share", 0.0), source=t.get("source", ""),
                        gflops=t.get("gflops", 0.0), tune_s=t.get("tune_s", 0.0)) for t in j.get("tasks", [])]
    return Delivery(model=compiled, tasks=ts, tune_s=j.get("tune_s", 0.0), latency=j.get("opal", {}),
                    pytorch_latency=j.get("pytorch"), speedup_vs_pytorch=j.get("speedup_vs_pytorch"),
                    pytorch_error=j.get("pytorch_error", ""), raw=j)


__all__ = ["Task", "TaskList", "DeliveredTask", "Delivery", "target", "tasks", "build", "deliver", "Latency"]
