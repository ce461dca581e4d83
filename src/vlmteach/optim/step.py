"""One test-time optimization step (the paper's Algorithm 1, step 3; docs/methods.md), shared by the method and `doctor`:
one-step clean prediction -> light decode -> K frames sampled uniformly -> per-query "Yes" NLL ->
weighted loss -> (the caller checks early stopping) -> backward and an optimizer step on the LoRA."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from vlmteach.optim.gradmode import clean_prediction
from vlmteach.optim.loss import frames_loss
from vlmteach.reasoners import Reasoner
from vlmteach.teachers import QuerySet, Teacher


@dataclass(frozen=True)
class StepResult:
    loss: float
    per_query: list[float]  # NLL of "Yes" per query, goal first


def one_step_loss(reasoner: Reasoner, teacher: Teacher, cond: Any, z1: torch.Tensor, queries: QuerySet,
                  frames: int = 24, grad: str = "first-step",
                  sample_steps: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(weighted loss, per-query NLL) of the light-decoded clean prediction of gradient mode `grad`
    (the one-step prediction by default); differentiable."""
    video = reasoner.decode_light(clean_prediction(reasoner, z1, cond, grad, sample_steps))
    return frames_loss(teacher, video, queries, frames)


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
