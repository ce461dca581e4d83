"""vanilla: one few-step sample of the reasoner, from the problem's noise seed."""

from __future__ import annotations

from dataclasses import dataclass

from vlmteach.errors import VlmteachError
from vlmteach.methods.base import Method, MethodConfig, MethodResult, Problem
from vlmteach.methods.common import full_sample
from vlmteach.methods.cost import CostMeter


@dataclass
class VanillaConfig(MethodConfig):
    steps: int | None = None  # sampler steps; None = the reasoner's default (4 for the tiny one)

    def __post_init__(self) -> None:
        if self.steps is not None and self.steps < 1:
            raise VlmteachError(f"vanilla.steps must be >= 1, got {self.steps}")


class Vanilla(Method):
    name = "vanilla"
    config_class = VanillaConfig

    def run(self, reasoner, teacher, problem: Problem, progress=None) -> MethodResult:
        with CostMeter(reasoner, teacher) as meter:
            cond = reasoner.condition(problem.first_frame, problem.prompt)
            video = full_sample(reasoner, cond, problem.seed, self.config.steps)
        return MethodResult(video, meter.cost, 0, {"noise_seed": problem.seed})
