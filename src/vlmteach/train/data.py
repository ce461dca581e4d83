"""Random training instances from the task suite, drawn reproducibly from a numpy Generator."""

from __future__ import annotations

import numpy as np
import torch

from vlmteach.tasks import Instance, TaskFamily


def draw_instances(rng: np.random.Generator, families: list[TaskFamily], n: int,
                   seeds: tuple[int, int]) -> list[Instance]:
    """n instances: a family uniformly, a difficulty uniformly in its range, a seed in [lo, hi)."""
    out = []
    for _ in range(n):
        fam = families[int(rng.integers(len(families)))]
        lo, hi = fam.difficulty_range
        out.append(fam.generate(int(rng.integers(*seeds)), int(rng.integers(lo, hi + 1))))
    return out


def ground_truth_frames(instances: list[Instance]) -> torch.Tensor:
    """(B, T, 3, H, W) ground-truth videos."""
    return torch.stack([i.ground_truth.frames for i in instances])
