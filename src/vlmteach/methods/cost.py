"""Cost accounting for one method run: wall seconds, reasoner and teacher forward and backward
passes (read from the models' counters) and peak memory."""

from __future__ import annotations

import resource
import sys
import time
from dataclasses import asdict, dataclass
from typing import Self

import torch


@dataclass
class Cost:
    wall_s: float = 0.0
    reasoner_forwards: int = 0
    reasoner_backwards: int = 0
    teacher_forwards: int = 0
    teacher_backwards: int = 0
    peak_mem_mb: float = 0.0
    # "cuda-allocated": torch's peak allocation during the run; "process-rss": the process's peak
    # resident memory so far (the OS gives no per-run peak on the CPU, so this is an upper bound).
    peak_mem_kind: str = "process-rss"

    def to_dict(self) -> dict:
        return asdict(self)


def _rss_peak_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


class CostMeter:
    """Measure a block: `with CostMeter(reasoner, teacher) as meter: ...; meter.cost`."""

    def __init__(self, reasoner, teacher):
        self.reasoner, self.teacher = reasoner, teacher
        self.cost = Cost()

    def __enter__(self) -> Self:
        self._r = (self.reasoner.cost.forwards, self.reasoner.cost.backwards)
        self._t = (self.teacher.cost.forwards, self.teacher.cost.backwards)
        self._cuda = torch.cuda.is_available() and torch.cuda.is_initialized()
        if self._cuda:
            torch.cuda.reset_peak_memory_stats()
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        if self._cuda:
            torch.cuda.synchronize()
        c = self.cost
        c.wall_s = time.perf_counter() - self._t0
        c.reasoner_forwards = self.reasoner.cost.forwards - self._r[0]
        c.reasoner_backwards = self.reasoner.cost.backwards - self._r[1]
        c.teacher_forwards = self.teacher.cost.forwards - self._t[0]
        c.teacher_backwards = self.teacher.cost.backwards - self._t[1]
        if self._cuda:
            c.peak_mem_mb, c.peak_mem_kind = torch.cuda.max_memory_allocated() / 2**20, "cuda-allocated"
        else:
            c.peak_mem_mb, c.peak_mem_kind = _rss_peak_mb(), "process-rss"
