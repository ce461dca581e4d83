"""One test-time optimization step (METHOD.md, Algorithm step 3), shared by the method and `doctor`:
one-step clean prediction -> light decode -> K frames sampled uniformly -> per-query "Yes" NLL ->
weighted loss -> (the caller checks early stopping) -> backward and an optimizer step on the LoRA."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from vlmteach.optim.loss import query_loss
from vlmteach.reasoners import Reasoner
from vlmteach.teachers import QuerySet, Teacher
from vlmteach.video import sample_frames


@dataclass(frozen=True)
class StepResult:
    loss: float
    per_query: list[float]  # NLL of "Yes" per query, goal first


def one_step_loss(reasoner: Reasoner, teacher: Teacher, cond: Any, z1: torch.Tensor, queries: QuerySet,
                  frames: int = 24) -> tuple[torch.Tensor, torch.Tensor]:
    """(weighted loss, per-query NLL) of the light-decoded one-step prediction; differentiable."""
    video = reasoner.decode_light(reasoner.one_step(z1, cond))
    nll = teacher.yes_nll(sample_frames(video, frames), queries.texts)
    return query_loss(nll, queries), nll


def backward_step(reasoner: Reasoner, teacher: Teacher, loss: torch.Tensor,
                  optimizer: torch.optim.Optimizer) -> None:
    """Backpropagate `loss` to the LoRA and take one optimizer step, counting the backward passes."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    reasoner.cost.backwards += 1
    teacher.cost.backwards += 1
    optimizer.step()


def optimization_step(reasoner: Reasoner, teacher: Teacher, cond: Any, z1: torch.Tensor,
                      queries: QuerySet, optimizer: torch.optim.Optimizer, frames: int = 24) -> StepResult:
    """Score the one-step prediction, then take one optimizer step on the LoRA."""
    loss, nll = one_step_loss(reasoner, teacher, cond, z1, queries, frames)
    backward_step(reasoner, teacher, loss, optimizer)
    return StepResult(float(loss.detach()), [float(v) for v in nll.detach()])
