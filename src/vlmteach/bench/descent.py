"""How far a judge's own gradient can carry a video: descent on its loss directly in pixel space.

The test-time loop follows the teacher's gradient through the reasoner (a LoRA), which can only make
the changes the reasoner can express. Descending the teacher's loss on the video's pixels instead,
with nothing in between, asks the simpler question first: does following this judge's gradient make
the video *truly* better, by the task's scorer, and for how many steps before the descent starts to
fool the judge (its loss keeps falling while the score falls)? The best of these score gains is a
ceiling for what any loop that follows the same gradient can expect; where it is small, no loop
setting will make the method beat search (docs/tiny-world.md). The same descent on oracle_tto's
privileged loss (optim/objective.py, ReferenceObjective) reaches the ground truth, the other end.

Pixels are kept in [0, 1] by descending their logits (x = sigmoid(u)) with Adam, so a step moves
every pixel by about the learning rate in logit units, whatever the gradient's scale.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import torch

from vlmteach.errors import VlmteachError
from vlmteach.optim.objective import Objective
from vlmteach.video import Video

EPS = 1e-3  # pixels are clamped to [EPS, 1 - EPS] before their logit is taken


@dataclass
class DescentPoint:
    """The video after `step` steps of descent: the objective's loss and the scorer's total."""

    step: int
    loss: float
    score: float

    def to_json(self) -> dict:
        return asdict(self)


def pixel_descent(video: Video, objective: Objective, score: Callable[[Video], float],
                  checkpoints: Sequence[int] = (0, 5, 15, 30, 60), lr: float = 0.05) -> list[DescentPoint]:
    """Adam on the logits of `video`'s pixels against `objective` for max(checkpoints) steps; at each
    checkpoint (0: the video as given, its pixels clamped to [EPS, 1 - EPS]) the objective's loss and
    `score` of the frames so far."""
    marks = sorted(set(int(c) for c in checkpoints))
    if not marks or marks[0] < 0:
        raise VlmteachError(f"checkpoints must be step counts >= 0, got {list(checkpoints)}")
    if lr <= 0:
        raise VlmteachError(f"lr must be > 0, got {lr}")
    logits = torch.logit(video.frames.detach().float().clamp(EPS, 1 - EPS)).requires_grad_(True)
    opt = torch.optim.Adam([logits], lr=lr)
    points = []
    for step in range(marks[-1] + 1):
        with torch.enable_grad():
            loss = objective(torch.sigmoid(logits))[0]
        if step in marks:
            frames = torch.sigmoid(logits.detach())
            points.append(DescentPoint(step, float(loss.detach()), float(score(Video(frames, video.fps)))))
        if step == marks[-1]:
            break
        opt.zero_grad()
        loss.backward()
        opt.step()
    return points
