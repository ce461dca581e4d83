"""Pixel-space descent (bench/descent.py) on a real task and its scorer, with objectives whose
effect on the score is known in advance."""

from __future__ import annotations

import pytest
import torch

from vlmteach.bench.descent import pixel_descent
from vlmteach.errors import VlmteachError
from vlmteach.optim.objective import Objective, ReferenceObjective
from vlmteach.tasks import get_family
from vlmteach.video import Video

FAMILY = get_family("maze")


class Darken(Objective):
    """Rewards dark frames: a judge that can be pleased without doing the task."""

    names = ["brightness"]

    def __call__(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        loss = frames.mean()
        return loss, loss[None]


def score_of(inst, seen: list | None = None):
    def score(video: Video) -> float:
        if seen is not None:
            seen.append(video)
        return FAMILY.score(video, inst).total
    return score


def test_descent_on_the_ground_truths_distance_walks_a_still_video_to_a_solution():
    inst = FAMILY.generate(3)
    still = Video(inst.first_frame[None].repeat(inst.ground_truth.num_frames, 1, 1, 1), inst.ground_truth.fps)
    points = pixel_descent(still, ReferenceObjective(inst.ground_truth), score_of(inst), (0, 10, 60), lr=0.5)
    assert [p.step for p in points] == [0, 10, 60]
    assert points[0].score == pytest.approx(FAMILY.score(still, inst).total, abs=1e-6)
    assert points[0].score < 0.5  # the ball never moves
    assert points[-1].score == pytest.approx(FAMILY.score(inst.ground_truth, inst).total, abs=0.02)
    assert points[0].loss > points[1].loss > points[2].loss


def test_a_judge_pleased_by_darkness_lowers_its_loss_while_the_score_falls():
    inst = FAMILY.generate(4)
    seen: list[Video] = []
    points = pixel_descent(inst.ground_truth, Darken(), score_of(inst, seen), (0, 5, 30), lr=0.5)
    assert points[0].score == pytest.approx(FAMILY.score(inst.ground_truth, inst).total, abs=1e-6)
    assert points[-1].loss < points[0].loss - 0.1
    assert points[-1].score < points[0].score - 0.2
    for video in seen:  # the scorer always sees a valid video of the input's shape and frame rate
        assert video.frames.shape == inst.ground_truth.frames.shape and video.fps == inst.ground_truth.fps
        assert float(video.frames.min()) >= 0.0 and float(video.frames.max()) <= 1.0
    assert len(seen) == 3


@pytest.mark.parametrize("checkpoints, lr, match", [((), 0.1, "checkpoints"), ((0, -1), 0.1, "checkpoints"),
                                                    ((0, 5), 0.0, "lr")])
def test_bad_settings_are_refused_by_name(checkpoints, lr, match):
    inst = FAMILY.generate(5)
    with pytest.raises(VlmteachError, match=match):
        pixel_descent(inst.ground_truth, Darken(), score_of(inst), checkpoints, lr)
