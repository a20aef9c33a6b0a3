"""A model built by opal, loaded and callable on NumPy arrays and torch tensors."""

from __future__ import annotations

import json
import os
import shutil
import weakref
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import _opal

_NUMPY_DTYPES = {
    "float32": np.float32, "float64": np.float64, "float16": np.float16,
    "int8": np.int8, "int16": np.int16, "int32": np.int32, "int64": np.int64,
    "uint8": np.uint8, "uint16": np.uint16, "uint32": np.uint32, "uint64": np.uint64,
    "bool": np.bool_,
}


@dataclass(frozen=True)
class TensorInfo:
    """An input or output of a built model: name, dtype ("float32", ...), shape, dense bytes."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    bytes: int


@dataclass(frozen=True)
class Latency:
    """Latency of repeated runs in milliseconds (nearest-rank percentiles), as ``opal run --bench``."""

    runs: int
    warmup: int
    min_ms: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float

    def __str__(self) -> str:
        return (f"latency over {self.runs} runs: min {self.min_ms:.3f} ms, p50 {self.p50_ms:.3f} ms, "
                f"p90 {self.p90_ms:.3f} ms, p99 {self.p99_ms:.3f} ms, mean {self.mean_ms:.3f} ms")


@dataclass(frozen=True)
class KernelTime:
    """One kernel call of a profiled run: its position, the node(s) it computes, mean seconds."""

    step: int
    node: str
    mean_s: float
    share: float


@dataclass(frozen=True)
class ManifestNode:
    """A node of the built model (``manifest.json``): its kernel and where its schedule came from
    (``source``: "store", "zero-shot", "default", or "-" for nodes that are not tuned), the
    schedule itself (``config``, canonical JSON) and the stored record's time."""

    node: str
    op_type: str
    kernel: str
    kind: str
    source: str
    config: str
    expected_s: float
    epilogue: str
    fused_into: str
    schedule_note: str
    workload_key: str
    raw: dict = field(repr=False, compare=False)


@dataclass(frozen=True)
class Manifest:
    """What ``opal build`` wrote in ``manifest.json`` (format opal.build/1)."""

    model: str
    target: str
    nodes: list[ManifestNode]
    kernels: int
    kernels_cached: int
    arena_bytes: int
    weights_bytes: int
    total_s: float
    raw: dict = field(repr=False, compare=False)

    @staticmethod
    def from_json(j: dict) -> "Manifest":
        nodes = [
            ManifestNode(
                node=n.get("node", ""), op_type=n.get("op_type", ""), kernel=n.get("kernel", ""),
                kind=n.get("kind", ""), source=n.get("source", "-"), config=_config_text(n.get("config")),
                expected_s=float(n.get("expected_s", 0) or 0), epilogue=n.get("epilogue", ""),
                fused_into=n.get("fused_into", ""), schedule_note=n.get("schedule_note", ""),
                workload_key=n.get("workload_key", ""), raw=n)
            for n in j.get("nodes", [])
        ]
        return Manifest(model=j.get("model", ""), target=j.get("target", ""), nodes=nodes,
                        kernels=int(j.get("kernels", 0)), kernels_cached=int(j.get("kernels_cached", 0)),
                        arena_bytes=int(j.get("arena_bytes", 0)), weights_bytes=int(j.get("weights_bytes", 0)),
                        total_s=float(j.get("total_s", 0)), raw=j)

    def schedules(self) -> dict[str, dict]:
        """Each kernel's schedule: kernel name -> {"nodes", "source", "config", "note"}."""
        out: dict[str, dict] = {}
        for n in self.nodes:
            if not n.kernel:
                continue
            k = out.setdefault(n.kernel, {"nodes": [], "source": n.source, "config": n.config,
                                          "note": n.schedule_note})
            k["nodes"].append(n.node)
        return out


def _config_text(config: Any) -> str:
    if config is None:
        return ""
    return config if isinstance(config, str) else json.dumps(config, sort_keys=True, separators=(",", ":"))


def _torch():
    try:
        import torch
        return torch
    except ImportError:  # pragma: no cover
        return None


class CompiledModel:
    """A model built by opal (the folder holding ``libmodel.so``, ``weights.bin`` and
    ``manifest.json``), loaded into this process.

    Call it on NumPy arrays or torch tensors, positionally in the model's input order or by name.
    Inputs that are C-contiguous, on the CPU and of the model's dtype are read in place; outputs
    are written straight into freshly allocated tensors (torch when any input was a torch tensor,
    else NumPy). Nothing is copied unless an input must be converted.
    """

    def __init__(self, path: str | os.PathLike, threads: int = 0, *, _temporary: bool = False):
        self.path = os.fspath(path)
        self._lib = _opal.Model(self.path, threads)
        self.inputs = [TensorInfo(n, d, tuple(s), b) for n, d, s, b in self._lib.inputs]
        self.outputs = [TensorInfo(n, d, tuple(s), b) for n, d, s, b in self._lib.outputs]
        self.description: str = self._lib.description
        self._manifest: Manifest | None = None
        if _temporary:
            # The folder lives as long as this object (a loaded library's file may be removed).
            weakref.finalize(self, shutil.rmtree, self.path, ignore_errors=True)

    def __repr__(self) -> str:
        ins = ", ".join(f"{i.name}: {i.dtype}[{'x'.join(map(str, i.shape))}]" for i in self.inputs)
        return f"<opal.CompiledModel {self.description!r} ({ins}) at {self.path}>"

    @property
    def manifest(self) -> Manifest:
        """The build's manifest: per node its kernel, schedule source and schedule config."""
        if self._manifest is None:
            with open(os.path.join(self.path, "manifest.json")) as f:
                self._manifest = Manifest.from_json(json.load(f))
        return self._manifest

    # -- inputs and outputs -------------------------------------------------------------------

    def _arrange(self, args: tuple, kwargs: dict) -> list[Any]:
        if args and kwargs:
            raise _opal.InvalidArgumentError("give the inputs either by position or by name, not both")
        if kwargs:
            names = [i.name for i in self.inputs]
            unknown = sorted(set(kwargs) - set(names))
            if unknown:
                raise _opal.InvalidArgumentError(
                    f"the model has no input '{unknown[0]}'; its inputs are {', '.join(names)}")
            missing = [n for n in names if n not in kwargs]
            if missing:
                raise _opal.InvalidArgumentError(f"input '{missing[0]}' is not given")
            return [kwargs[n] for n in names]
        if len(args) == 1 and isinstance(args[0], (list, tuple)) and len(self.inputs) != 1:
            args = tuple(args[0])
        if len(args) != len(self.inputs):
            raise _opal.InvalidArgumentError(f"the model takes {len(self.inputs)} inputs, {len(args)} given")
        return list(args)

    def _prepare(self, values: list[Any]) -> tuple[list[int], list[Any], bool]:
        """Addresses of dense buffers for the inputs, the objects that own them (kept alive for the
        call), and whether any input was a torch tensor."""
        torch = _torch()
        addresses, keep, any_torch = [], [], False
        for info, v in zip(self.inputs, values):
            want = _NUMPY_DTYPES.get(info.dtype)
            if want is None:
                raise _opal.UnsupportedError(f"input '{info.name}' has dtype {info.dtype}, which the package cannot pass")
            if torch is not None and isinstance(v, torch.Tensor):
                any_torch = True
                t = v.detach()
                tdt = getattr(torch, info.dtype if info.dtype != "bool" else "bool")
                if t.device.type != "cpu" or t.dtype != tdt or not t.is_contiguous():
                    t = t.to(device="cpu", dtype=tdt).contiguous()  # the only copy, when needed
                shape, address, owner = tuple(t.shape), t.data_ptr(), t
            else:
                a = np.ascontiguousarray(v, dtype=want)  # no copy for a matching array
                shape, address, owner = a.shape, a.ctypes.data, a
            if shape != info.shape:
                raise _opal.InvalidArgumentError(
                    f"input '{info.name}' must be {info.dtype} {_shape(info.shape)}, got {_shape(shape)}")
            addresses.append(address)
            keep.append(owner)
        return addresses, keep, any_torch

    def _allocate(self, as_torch: bool) -> tuple[list[int], list[Any]]:
        torch = _torch() if as_torch else None
        outs = []
        for info in self.outputs:
            if torch is not None:
                outs.append(torch.empty(info.shape, dtype=getattr(torch, info.dtype)))
            else:
                outs.append(np.empty(info.shape, dtype=_NUMPY_DTYPES[info.dtype]))
        addresses = [o.data_ptr() if torch is not None else o.ctypes.data for o in outs]
        return addresses, outs

    # -- running ------------------------------------------------------------------------------

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Runs one inference. Returns the output (a tuple when the model has several): torch
        tensors when any input was one, else NumPy arrays."""
        values = self._arrange(args, kwargs)
        addresses, keep, any_torch = self._prepare(values)
        out_addresses, outs = self._allocate(any_torch)
        self._lib.run(addresses, out_addresses)
        del keep
        return outs[0] if len(outs) == 1 else tuple(outs)

    run = __call__

    def example_inputs(self, seed: int = 0) -> list[np.ndarray]:
        """Random inputs of the model's dtypes and shapes (floats uniform on [-1, 1), integers 0
        or 1, inputs named like a mask all 1) -- what ``opal run`` uses when none are given."""
        rng = np.random.default_rng(seed)
        out = []
        for info in self.inputs:
            dt = _NUMPY_DTYPES[info.dtype]
            if "mask" in info.name:
                out.append(np.ones(info.shape, dtype=dt))
            elif np.issubdtype(dt, np.floating):
                out.append(rng.uniform(-1, 1, info.shape).astype(dt))
            else:
                out.append(rng.integers(0, 2, info.shape).astype(dt))
        return out

    def _buffers(self, args: tuple, kwargs: dict) -> tuple[list[int], list[int], list[Any]]:
        values = self._arrange(args, kwargs) if (args or kwargs) else self.example_inputs()
        addresses, keep, _ = self._prepare(values)
        out_addresses, outs = self._allocate(False)
        return addresses, out_addresses, keep + outs

    def bench(self, *args: Any, runs: int = 30, warmup: int = 3, **kwargs: Any) -> Latency:
        """Latency percentiles in ms of ``runs`` timed runs after ``warmup`` untimed ones, on the
        given inputs (random ones when none are given)."""
        ins, outs, keep = self._buffers(args, kwargs)
        d = self._lib.bench(ins, outs, warmup, runs)
        del keep
        return Latency(**d)

    def profile(self, *args: Any, runs: int = 10, **kwargs: Any) -> list[KernelTime]:
        """Each kernel call's mean wall time over ``runs`` profiled runs, slowest first."""
        ins, outs, keep = self._buffers(args, kwargs)
        seconds = self._lib.profile(ins, outs, runs)
        del keep
        nodes = self._lib.step_nodes()
        total = sum(seconds) or 1.0
        steps = [KernelTime(i, nodes[i] if i < len(nodes) else "?", s, s / total) for i, s in enumerate(seconds)]
        return sorted(steps, key=lambda k: -k.mean_s)


def _shape(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape)) if shape else "scalar"


def load(path: str | os.PathLike, threads: int = 0) -> CompiledModel:
    """Loads a model that ``opal build`` (or :func:`opal.build` with ``out_dir``) wrote."""
    return CompiledModel(path, threads)
