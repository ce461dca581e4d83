"""Pieces the methods share: candidate noise seeds, one full sample, a scaled LoRA, the teacher's score of a video."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch

from vlmteach.optim import frames_loss
from vlmteach.reasoners import Reasoner
from vlmteach.teachers import QuerySet, Teacher
from vlmteach.video import Video


def candidate_seed(seed: int, i: int) -> int:
    """Noise seed of candidate i: candidate 0 is the problem's own seed (the vanilla sample)."""
    return int(seed) if i == 0 else int(np.random.SeedSequence([int(seed), i]).generate_state(1)[0] >> 1)


@torch.no_grad()
def full_sample(reasoner: Reasoner, cond: Any, seed: int, steps: int | None = None) -> Video:
    """One few-step sample from the seed's noise, through the full decoder."""
    return reasoner.decode(reasoner.sample(reasoner.noise(seed), cond, steps))


@contextmanager
def lora_scaled(reasoner: Reasoner, scale: float) -> Iterator[None]:
    """The reasoner's LoRA update B·A multiplied by `scale` inside the block (each factor by
    sqrt(scale), since the update is bilinear in them), then restored exactly. It works on `.data`,
    so it can run inside the loop (select=judge) between a loss and its backward pass."""
    if scale == 1.0:
        yield
        return
    params = reasoner.lora_parameters()
    saved = [p.data.clone() for p in params]
    for p in params:
        p.data.mul_(scale ** 0.5)
    try:
        yield
    finally:
        for p, value in zip(params, saved):
            p.data.copy_(value)


@torch.no_grad()
def teacher_loss_of(teacher: Teacher, video: Video, queries: QuerySet, frames: int = 24) -> tuple[float, list[float]]:
    """The teacher's weighted "Yes" NLL of a finished video (lower is better) and per query."""
    loss, nll = frames_loss(teacher, video.frames, queries, frames)
    return float(loss), [float(v) for v in nll]
