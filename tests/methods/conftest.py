"""Stub models for the methods' fast tests: a reasoner and a teacher whose every output is written
out here, so that a test can compute what a method must return without running any network, and
that record what the method asked of them."""

from __future__ import annotations

import pytest
import torch

from vlmteach.reasoners import Reasoner
from vlmteach.teachers import QuerySet, Teacher
from vlmteach.video import Video

T, H, W = 6, 2, 2


class StubReasoner(Reasoner):
    """clean latent = (condition + z1) / 2 + the LoRA's `delta` (a (T, 3, H, W) parameter, zero when
    fresh); every frame of the video is the clean latent clamped to [0, 1]."""

    name = "stub"
    default_steps = 3
    recommended_tto = {"lr": 0.5, "max_steps": 4}

    def __init__(self) -> None:
        super().__init__()
        self.delta: torch.nn.Parameter | None = None
        self.log: list[tuple] = []  # (call, argument) in order
        self.grads: list = []  # the `grad` argument of every sample() call

    def condition(self, image, prompt):
        """The first frame, brighter by 0.05 for each "/" in the prompt (what a rewrite adds)."""
        self.log.append(("condition", prompt))
        return image + 0.05 * prompt.count("/")

    def noise(self, seed):
        self.log.append(("noise", seed))
        return torch.rand((T, 3, H, W), generator=torch.Generator().manual_seed(int(seed)))

    def _clean(self, z1, image):
        base = (image.expand(T, 3, H, W) + z1) / 2
        return base if self.delta is None else base + self.delta

    def one_step(self, z1, cond):
        self.cost.forwards += 1
        self.log.append(("one_step", None))
        return self._clean(z1, cond)

    def sample(self, z1, cond, steps=None, grad=False):
        steps = self.default_steps if steps is None else steps
        self.cost.forwards += steps
        self.log.append(("sample", steps))
        self.grads.append(grad)
        with torch.set_grad_enabled(grad is not False and torch.is_grad_enabled()):
            return self._clean(z1, cond)

    def decode(self, z):
        return Video(z.detach().clamp(0, 1))

    def decode_light(self, z):
        return z.clamp(0, 1)

    def add_lora(self, rank=16, alpha=None, targets=None):
        self.log.append(("add_lora", rank, alpha, targets))
        self.delta = torch.nn.Parameter(torch.zeros(T, 3, H, W))

    def lora_parameters(self):
        return [] if self.delta is None else [self.delta]

    def reset_lora(self):
        self.delta.data.zero_()

    def drop_lora(self):
        self.log.append(("drop_lora", None))
        self.delta = None


GOAL, PROCESS = "Is it bright?", ("Is it dark?", "Is it grey?")
TARGETS = {GOAL: 1.0, PROCESS[0]: 0.0, PROCESS[1]: 0.5}


class StubTeacher(Teacher):
    """NLL of query q = mean squared distance of the frames to TARGETS[q]: "Is it bright?" wants
    white frames; any other query wants grey (0.5). Critiques are scripted: `critiques` are returned
    in turn, "" when they run out."""

    name = "stub_teacher"
    can_generate = True

    def __init__(self, critiques=()) -> None:
        super().__init__()
        self.critiques = list(critiques)
        self.log: list[tuple] = []
        self.critiqued: list = []  # the frames of every critique

    def propose_queries(self, first_frame, prompt):
        self.log.append(("propose", first_frame, prompt))
        return QuerySet(GOAL, PROCESS)

    def yes_nll(self, frames, queries):
        self.cost.forwards += 1
        self.log.append(("yes_nll", frames.shape[0]))
        return torch.stack([((frames - TARGETS.get(q, 0.5)) ** 2).mean() for q in queries])

    def rewrite_prompt(self, first_frame, prompt, feedback=None):
        self.log.append(("rewrite", first_frame, prompt, feedback))
        return f"{prompt} / {feedback or 'clearer'}"

    def critique(self, frames, prompt):
        self.log.append(("critique", prompt))
        self.critiqued.append(frames)
        return self.critiques.pop(0) if self.critiques else ""


def stub_loss(frames: torch.Tensor, lam: float = 0.5) -> float:
    """The stub teacher's weighted loss of frames, written out: lam x goal + (1 - lam) x process mean."""
    goal = ((frames - 1.0) ** 2).mean()
    process = (((frames - 0.0) ** 2).mean() + ((frames - 0.5) ** 2).mean()) / 2
    return float(lam * goal + (1 - lam) * process)


@pytest.fixture
def stubs():
    return StubReasoner(), StubTeacher()
