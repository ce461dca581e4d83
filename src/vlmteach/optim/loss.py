"""The teacher reward as a loss: L = lam * L_goal + (1 - lam) / M * sum_m L_proc_m (METHOD.md)."""

from __future__ import annotations

import torch

from vlmteach.teachers import QuerySet


def query_loss(nll: torch.Tensor, queries: QuerySet) -> torch.Tensor:
    """Weighted sum of per-query "Yes" NLLs (n,), goal first, as the QuerySet orders them."""
    if nll.shape != (len(queries.texts),):
        raise ValueError(f"expected one NLL per query ({len(queries.texts)}), got shape {tuple(nll.shape)}")
    return (queries.weights.to(nll) * nll).sum()
