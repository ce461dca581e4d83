"""The teacher reward as a loss: L = lam * L_goal + (1 - lam) / M * sum_m L_proc_m (docs/methods.md)."""

from __future__ import annotations

import torch

from vlmteach.teachers import QuerySet, Teacher
from vlmteach.video import sample_frames


def query_loss(nll: torch.Tensor, queries: QuerySet) -> torch.Tensor:
    """Weighted sum of per-query "Yes" NLLs (n,), goal first, as the QuerySet orders them."""
    if nll.shape != (len(queries.texts),):
        raise ValueError(f"expected one NLL per query ({len(queries.texts)}), got shape {tuple(nll.shape)}")
    return (queries.weights.to(nll) * nll).sum()


def frames_loss(teacher: Teacher, frames: torch.Tensor, queries: QuerySet, k: int = 24) -> tuple[torch.Tensor, torch.Tensor]:
    """(weighted loss, per-query NLL) of K frames sampled uniformly from (T, 3, H, W) frames (all of
    them when T <= K); differentiable w.r.t. the frames."""
    nll = teacher.yes_nll(sample_frames(frames, k), queries.texts)
    return query_loss(nll, queries), nll
