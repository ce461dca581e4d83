"""Gradient alignment (bench/gradients.py) on the stub models, whose view is the clean latent itself
(the LoRA adds a `delta` to every pixel), so every figure can be written out here."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vlmteach.bench.gradients import gradient_alignment
from vlmteach.optim import TTOConfig
from vlmteach.optim.objective import ReferenceObjective, TeacherObjective
from vlmteach.teachers import QuerySet
from vlmteach.video import Video

from ..methods.conftest import GOAL, PROCESS, T, StubReasoner, StubTeacher

FIRST = torch.full((3, 2, 2), 0.2)
LR = 2.0


def setup(seed: int = 3):
    r, t = StubReasoner(), StubTeacher()
    z1 = r.noise(seed)
    cond = r.condition(FIRST, "p")
    view = ((FIRST + z1) / 2).double().numpy()  # the fresh (zero) LoRA's view
    teacher = TeacherObjective(t, QuerySet(GOAL, PROCESS), frames=T)  # lam 0.5: d/dx = (2x - 1.25) / N
    return r, cond, z1, view, teacher


def reference(target: np.ndarray) -> ReferenceObjective:
    """MSE of every frame to `target` (gradient 2 (x - target) / N), no separate last-frame term."""
    return ReferenceObjective(Video(torch.tensor(target, dtype=torch.float32)), final_weight=0.0, video_weight=1.0)


def cfg() -> TTOConfig:
    return TTOConfig(lr=LR, optimizer="sgd", grad="first-step", frames=T)


def test_figures_match_the_written_out_gradients_and_steps():
    r, cond, z1, x, teacher = setup()
    target = np.random.default_rng(0).uniform(0.2, 0.8, x.shape)
    n = x.size
    g_teacher, g_reference = (2 * x - 1.25) / n, 2 * (x - target) / n
    cos = (g_teacher * g_reference).sum() / np.linalg.norm(g_teacher) / np.linalg.norm(g_reference)

    def ref_loss(v):
        return ((v - target) ** 2).mean()

    after_t, after_r = ref_loss(x - LR * g_teacher), ref_loss(x - LR * g_reference)
    m = gradient_alignment(r, teacher, reference(target), cond, z1, cfg(), lora_seed=7)
    assert m.lora_cos == pytest.approx(cos, abs=1e-5)
    assert m.pixel_cos == pytest.approx(cos, abs=1e-5)  # the stub's view is the LoRA's delta plus a constant
    assert m.reference_loss == pytest.approx(ref_loss(x), rel=1e-5)
    assert m.after_teacher_step == pytest.approx(after_t, rel=1e-5)
    assert m.after_reference_step == pytest.approx(after_r, rel=1e-5)
    assert m.step_efficiency == pytest.approx((ref_loss(x) - after_t) / (ref_loss(x) - after_r), rel=1e-4)
    assert r.delta is None  # the LoRA is dropped after
    assert ("add_lora", 16, None, None) in r.log


def test_a_teacher_that_wants_the_reference_scores_one_and_its_opposite_minus_one():
    r, cond, z1, x, teacher = setup()
    same = gradient_alignment(r, teacher, reference(np.full(x.shape, 0.625)), cond, z1, cfg(), lora_seed=7)
    assert (same.lora_cos, same.pixel_cos, same.step_efficiency) == pytest.approx((1.0, 1.0, 1.0), abs=1e-5)
    # x - target = -(2x - 1.25) / 2: the reference pulls exactly against the teacher
    opposite = gradient_alignment(r, teacher, reference(2 * x - 0.625), cond, z1, cfg(), lora_seed=7)
    assert opposite.lora_cos == pytest.approx(-1.0, abs=1e-5)
    assert opposite.step_efficiency < 0


def test_the_lora_cosine_sees_only_what_the_reasoner_can_move():
    """Pixels the light decoder clamps (a view above 1) get no gradient through the LoRA: the LoRA
    cosine is over the other pixels, the pixel cosine over all of them."""
    r, t = StubReasoner(), StubTeacher()
    z1 = r.noise(3)
    cond = r.condition(FIRST, "/" * 30)  # the first frame brightened by 1.5
    raw = ((FIRST + 1.5 + z1) / 2).double().numpy()
    free = raw < 1
    assert 0 < free.mean() < 1
    x = raw.clip(0, 1)
    target = np.random.default_rng(1).uniform(0.2, 0.8, x.shape)
    n = x.size
    g_teacher, g_reference = (2 * x - 1.25) / n, 2 * (x - target) / n

    def cos(a, b):
        return (a * b).sum() / np.linalg.norm(a) / np.linalg.norm(b)

    m = gradient_alignment(r, TeacherObjective(t, QuerySet(GOAL, PROCESS), frames=T), reference(target), cond, z1,
                           cfg(), lora_seed=7)
    assert m.pixel_cos == pytest.approx(cos(g_teacher, g_reference), abs=1e-5)
    assert m.lora_cos == pytest.approx(cos(g_teacher[free], g_reference[free]), abs=1e-5)
    assert abs(m.lora_cos - m.pixel_cos) > 0.01


def test_steps_are_clipped_as_the_loop_clips_them():
    """With `clip` below both gradients' norms, each SGD step is lr x clip along the unit gradient."""
    r, cond, z1, x, teacher = setup()
    target = np.random.default_rng(2).uniform(0.2, 0.8, x.shape)
    n, clip = x.size, 1e-3
    g_teacher, g_reference = (2 * x - 1.25) / n, 2 * (x - target) / n
    assert min(np.linalg.norm(g_teacher), np.linalg.norm(g_reference)) > clip

    def after(g):
        return (((x - LR * clip * g / np.linalg.norm(g)) - target) ** 2).mean()

    m = gradient_alignment(r, teacher, reference(target), cond, z1,
                           TTOConfig(lr=LR, optimizer="sgd", grad="first-step", frames=T, clip=clip), lora_seed=7)
    assert m.after_teacher_step == pytest.approx(after(g_teacher), rel=1e-5)
    assert m.after_reference_step == pytest.approx(after(g_reference), rel=1e-5)
