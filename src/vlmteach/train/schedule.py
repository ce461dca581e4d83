"""The learning-rate schedule both tiny models train with: linear warm-up, then cosine decay."""

from __future__ import annotations

import math

import torch


def warmup_cosine(optimizer: torch.optim.Optimizer, total: int, warmup: int = 200,
                  start: int = 0) -> torch.optim.lr_scheduler.LambdaLR:
    """Build before restoring a checkpoint; a resumed run then sets `last_epoch` to its step.
    `start`: the global step the schedule begins at (a later training stage); `warmup` 0: none."""
    def factor(step: int) -> float:
        s = max(0, step - start)
        warm = min(1.0, (s + 1) / warmup) if warmup else 1.0
        return warm * 0.5 * (1 + math.cos(math.pi * min(1.0, s / total)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def resume_at(sched: torch.optim.lr_scheduler.LambdaLR, step: int) -> None:
    """Continue the schedule at `step`: the learning rates restored with a checkpoint belong to the
    schedule that saved it (a run resumed with more steps must not keep the old, decayed rate)."""
    sched.last_epoch = step
    for group, base, fn in zip(sched.optimizer.param_groups, sched.base_lrs, sched.lr_lambdas):
        group["lr"] = base * fn(step)
