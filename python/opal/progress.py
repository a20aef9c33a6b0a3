"""Progress of opal's long work (tuning, ...) in Python.

The C++ library reports progress events (include/opal/progress.h); :func:`on_progress` hands each
one to a Python callable as a :class:`ProgressEvent`. Without a listener, progress is drawn on
stderr as the CLI does (a bar on a terminal, periodic lines otherwise).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TextIO

from . import _opal


@dataclass(frozen=True)
class ProgressEvent:
    """One progress event: ``event`` is "progress" or "done"; ``done`` of ``total`` ``unit``
    (total 0: unknown), seconds elapsed and the estimated seconds left (-1: unknown)."""

    event: str
    task: str
    done: float
    total: float
    unit: str
    elapsed_s: float
    eta_s: float
    detail: str

    @property
    def fraction(self) -> float | None:
        return self.done / self.total if self.total > 0 else None


def set_progress_listener(fn: Callable[[ProgressEvent], None] | None) -> None:
    """Calls ``fn(event)`` for every progress event from now on (None: stop). It runs on the
    thread doing the work; an exception it raises is reported and the work goes on."""
    if fn is None:
        _opal.set_progress_listener(None)
    else:
        _opal.set_progress_listener(lambda d: fn(ProgressEvent(**d)))


@contextlib.contextmanager
def on_progress(fn: Callable[[ProgressEvent], None]) -> Iterator[None]:
    """``with opal.on_progress(print): opal.deliver(...)`` -- a listener for the block only."""
    set_progress_listener(fn)
    try:
        yield
    finally:
        set_progress_listener(None)


def printer(stream: TextIO | None = None) -> Callable[[ProgressEvent], None]:
    """A listener printing one line per event (for notebooks, where stderr is not a terminal)."""

    def show(e: ProgressEvent) -> None:
        out = stream or sys.stdout
        total = f"/{e.total:g}" if e.total > 0 else ""
        eta = f", ETA {e.eta_s:.0f} s" if e.eta_s >= 0 and e.event != "done" else ""
        print(f"[{e.task}] {e.done:g}{total} {e.unit}{eta} {e.detail}".rstrip(), file=out, flush=True)

    return show


__all__ = ["ProgressEvent", "set_progress_listener", "on_progress", "printer"]
