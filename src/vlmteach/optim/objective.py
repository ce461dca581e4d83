"""What the test-time loop minimizes: a differentiable loss on the light-decoded clean prediction.

- `TeacherObjective`: the method's own reward, the teacher's lam-weighted "Yes" NLL of its queries
  on K frames sampled uniformly (the paper's Algorithm 1, step 3).
- `ReferenceObjective`: a *privileged* loss for the oracle_tto upper bound, the pixel distance to the
  instance's ground truth (its final frame, and where the whole solution video is known, every frame
  at the same relative time). No deployed system has the ground truth: it tells how much optimizing
  the LoRA could gain with a perfect judge, as pass_at_n does for search.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import replace

import torch
import torch.nn.functional as F

from vlmteach.errors import VlmteachError
from vlmteach.optim.loss import frames_loss, query_loss
from vlmteach.teachers import QuerySet, Teacher
from vlmteach.video import Video, uniform_indices


class Objective(ABC):
    """A loss on frames (T, 3, H, W), returned with its named terms (for the trace)."""

    names: list[str]

    @abstractmethod
    def __call__(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(loss, per-term values), differentiable w.r.t. the frames."""

    def count_backward(self) -> None:  # noqa: B027 (optional hook: most objectives run no model)
        """Book one backward pass through whatever model the objective runs (none by default)."""

    def value(self, loss: torch.Tensor, terms: torch.Tensor) -> float:
        """The loss as the loop reports it, stops on (tau) and judges iterates by: by default the one
        it steps on."""
        return float(loss.detach())


class TeacherObjective(Objective):
    """The teacher's loss; with `noise` > 0, of the frames plus fresh Gaussian pixel noise of that
    standard deviation at every call (an expectation over small perturbations, so the loop cannot
    win by a change the teacher would not see through noise), drawn from `seed` and the call count.

    With `grad_lam` set, the loop steps on the loss weighted by `grad_lam` instead of the queries' lam
    (1: the goal query alone), while `value` stays the lam-weighted loss, so what the loop reports and
    judges iterates by is unchanged; all queries are still answered in one teacher pass."""

    def __init__(self, teacher: Teacher, queries: QuerySet, frames: int = 24, noise: float = 0.0, seed: int = 0,
                 grad_lam: float | None = None):
        if grad_lam is not None and not 0.0 <= grad_lam <= 1.0:
            raise VlmteachError(f"grad_lam must be in [0, 1] or None, got {grad_lam}")
        self.teacher, self.queries, self.k = teacher, queries, frames
        self.names = queries.texts
        self.noise, self.seed, self.calls = noise, seed, 0
        self.stepped = queries if grad_lam is None or grad_lam == queries.lam else replace(queries, lam=grad_lam)

    def __call__(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.noise > 0:
            g = torch.Generator().manual_seed(self.seed * 1000 + self.calls)
            frames = frames + self.noise * torch.randn(frames.shape, generator=g).to(frames)
        self.calls += 1
        loss, nll = frames_loss(self.teacher, frames, self.queries, self.k)
        return (loss if self.stepped is self.queries else query_loss(nll, self.stepped)), nll

    def value(self, loss: torch.Tensor, terms: torch.Tensor) -> float:
        return float(query_loss(terms.detach(), self.queries))

    def count_backward(self) -> None:
        self.teacher.cost.backwards += 1


class ReferenceObjective(Objective):
    """final_weight x MSE(last frame, reference's last frame) + video_weight x MSE(frames, the
    reference's frames at the same relative times), pixels compared at the prediction's size."""

    def __init__(self, reference: Video, final_weight: float = 20.0, video_weight: float = 5.0):
        if final_weight < 0 or video_weight < 0 or final_weight + video_weight == 0:
            raise VlmteachError(f"oracle weights must be >= 0 and not both 0; got final {final_weight}, video {video_weight}")
        self.reference = reference.frames.detach().float()
        self.final_weight = final_weight
        # a reference of one frame (a VBVR folder with final_frame.png only) gives the final term alone
        self.video_weight = video_weight if self.reference.shape[0] > 1 else 0.0
        self.names = ["final_frame_mse", "video_mse"]

    def _at(self, ref: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        if ref.shape[-2:] != like.shape[-2:]:
            ref = F.interpolate(ref, size=like.shape[-2:], mode="area")
        return ref.to(like)

    def __call__(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        final = F.mse_loss(frames[-1], self._at(self.reference[-1:], frames)[0])
        if self.video_weight:
            ref = self.reference[uniform_indices(self.reference.shape[0], frames.shape[0])]
            video = F.mse_loss(frames, self._at(ref, frames))
        else:
            video = torch.zeros((), dtype=frames.dtype, device=frames.device)
        terms = torch.stack([final, video])
        return self.final_weight * final + self.video_weight * video, terms
