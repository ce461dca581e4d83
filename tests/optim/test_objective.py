"""The loop's objectives: the reference (oracle) loss against hand-computed pixel errors."""

import pytest
import torch

from vlmteach.errors import VlmteachError
from vlmteach.optim import ReferenceObjective
from vlmteach.video import Video


def test_reference_loss_is_the_weighted_pixel_error():
    ref = torch.zeros(4, 3, 8, 8)
    frames = torch.zeros(8, 3, 8, 8)
    frames[-1] = 0.5  # last frame off by 0.5 everywhere: MSE 0.25
    frames[0] = 1.0  # first frame off by 1.0: MSE 1 on one frame of 8
    loss, terms = ReferenceObjective(Video(ref), final_weight=2.0, video_weight=3.0)(frames)
    video_mse = (1.0 + 0.25) / 8
    assert terms.tolist() == pytest.approx([0.25, video_mse])
    assert float(loss) == pytest.approx(2.0 * 0.25 + 3.0 * video_mse)


def test_reference_frames_are_taken_at_the_same_relative_time_and_size():
    ref = torch.stack([torch.full((3, 16, 16), float(t) / 3) for t in range(4)])  # 0, 1/3, 2/3, 1
    frames = torch.stack([torch.full((3, 8, 8), v) for v in (0.0, 1.0)])  # a 2-frame prediction at half size
    loss, terms = ReferenceObjective(Video(ref), final_weight=0.0, video_weight=1.0)(frames)
    assert float(loss) == pytest.approx(0.0) and float(terms[0]) == pytest.approx(0.0)


def test_a_final_frame_alone_gives_the_final_term_only():
    final = torch.ones(1, 3, 8, 8)
    frames = torch.zeros(5, 3, 8, 8, requires_grad=True)
    obj = ReferenceObjective(Video(final), final_weight=1.0, video_weight=5.0)
    loss, _ = obj(frames)
    loss.backward()
    assert loss.item() == pytest.approx(1.0)
    assert frames.grad[:-1].abs().sum() == 0 and frames.grad[-1].abs().sum() > 0


def test_weights_must_not_all_be_zero():
    with pytest.raises(VlmteachError, match="not both 0"):
        ReferenceObjective(Video(torch.zeros(2, 3, 4, 4)), 0.0, 0.0)


def test_teacher_objective_noise_is_fresh_per_call_and_reproducible():
    from vlmteach import teachers
    from vlmteach.optim import TeacherObjective
    from vlmteach.tasks import get_family

    teacher = teachers.load("tiny")
    inst = get_family("maze").generate(1_000_000)
    queries = teacher.propose_queries(inst.first_frame, inst.prompt)
    frames = inst.ground_truth.frames
    clean = TeacherObjective(teacher, queries)(frames)[0].item()
    assert TeacherObjective(teacher, queries)(frames)[0].item() == clean  # no noise: deterministic
    a, b = TeacherObjective(teacher, queries, noise=0.1, seed=3), TeacherObjective(teacher, queries, noise=0.1, seed=3)
    first, second = a(frames)[0].item(), a(frames)[0].item()
    assert first != second and first != clean  # a fresh draw at every call
    assert [b(frames)[0].item(), b(frames)[0].item()] == [first, second]  # the same seed, the same draws


def test_grad_lam_steps_on_its_own_weights_and_reports_the_lam_loss():
    from dataclasses import replace

    from vlmteach.optim import TeacherObjective
    from vlmteach.tasks import get_family
    from vlmteach.teachers import QuerySet, Teacher

    class Linear(Teacher):
        """NLL of the goal, p1, p2 = 1, 2, 3 x the mean pixel; records the queries asked with a graph."""

        name = "linear"

        def __init__(self):
            super().__init__()
            self.with_graph: list[str] = []

        def propose_queries(self, first_frame, prompt):
            raise NotImplementedError

        def yes_nll(self, frames, queries):
            if frames.requires_grad:
                self.with_graph += queries
            order = {"g": 1.0, "p1": 2.0, "p2": 3.0}
            return torch.stack([order[q] * frames.mean() for q in queries])

    queries = QuerySet(goal="g", process=("p1", "p2"), lam=0.5)
    frames = get_family("maze").generate(1_000_000).ground_truth.frames.clone().requires_grad_(True)
    teacher = Linear()
    objective = TeacherObjective(teacher, queries, grad_lam=1.0)
    loss, nll = objective(frames)
    mean = frames.detach().mean()
    assert float(loss.detach()) == pytest.approx(float(mean))  # the goal alone (weight 1)
    assert objective.value(loss, nll) == pytest.approx(float(0.5 * mean + 0.25 * (2 * mean + 3 * mean)))
    assert teacher.with_graph == ["g", "p1", "p2"]  # one pass for all queries
    loss.backward()
    assert torch.allclose(frames.grad, torch.full_like(frames, 1 / frames.numel()))
    # unset, or equal to lam: the plain objective, its value the loss it steps on
    plain = TeacherObjective(teacher, queries)
    loss, nll = plain(frames)
    assert plain.value(loss, nll) == pytest.approx(float(loss.detach()))
    assert TeacherObjective(teacher, replace(queries, lam=1.0), grad_lam=1.0).stepped.lam == 1.0
    with pytest.raises(VlmteachError, match="grad_lam"):
        TeacherObjective(teacher, queries, grad_lam=1.5)
