"""oracle_tto: the teacher_tto loop driven by a privileged loss from the instance's ground truth.

An upper bound, not a method: no deployed system knows the solution. As pass_at_n bounds what
picking among samples can gain, oracle_tto bounds what optimizing a LoRA for a few steps can gain
with a perfect judge, on the user's own suite and reasoner (optim/objective.py, ReferenceObjective:
pixel distance of the light-decoded clean prediction's last frame, and of every frame at the same
relative time, to the ground truth). Everything else is teacher_tto's: a fresh LoRA seeded by the
problem, fixed noise, the fixed-noise loop's learning rate and step budget (the rolling loop, the tiny
default, picks among its samples, which needs a judge), the final few-step sample."""

from __future__ import annotations

from dataclasses import dataclass

from vlmteach.errors import VlmteachError
from vlmteach.methods.base import Method, MethodConfig, MethodResult, Problem
from vlmteach.methods.cost import CostMeter
from vlmteach.methods.teacher_tto import optimize_lora, step_budget
from vlmteach.optim import ReferenceObjective, TTOConfig
from vlmteach.optim.tto import resolve


@dataclass
class OracleTTOConfig(TTOConfig, MethodConfig):
    """The loop's options (TTOConfig, as teacher_tto) and the weights of the reference loss. tau 0:
    a pixel distance never reaches zero, so the step budget decides, as fixed_steps would."""

    tau: float = 0.0
    # one noise: the bound is on optimizing one sample; the rolling loop's gain also comes from picking
    # among its samples, which needs a judge (methods/teacher_tto.py)
    noises: str | None = "fixed"
    final_weight: float = 20.0  # x mean squared pixel error of the last frame
    video_weight: float = 5.0  # x mean squared pixel error of all frames (needs the whole reference video)

    def __post_init__(self) -> None:
        TTOConfig.__post_init__(self)
        if self.final_weight < 0 or self.video_weight < 0 or self.final_weight + self.video_weight == 0:
            raise VlmteachError(f"oracle_tto weights must be >= 0 and not both 0; got final_weight "
                                f"{self.final_weight}, video_weight {self.video_weight}")


class OracleTTO(Method):
    name = "oracle_tto"
    config_class = OracleTTOConfig
    upper_bound = True
    progress_unit = "step"

    def needs_reference(self) -> bool:
        return True

    def progress_total(self, reasoner) -> int | None:
        return step_budget(self.config, reasoner, self.name)

    def run(self, reasoner, teacher, problem: Problem, progress=None) -> MethodResult:
        if problem.reference is None:
            raise VlmteachError("oracle_tto needs the instance's ground truth (a benchmark instance, or a "
                                "VBVR folder with final_frame.png or ground_truth.mp4); it is an upper bound, "
                                "not a method for a bare image and prompt")
        cfg = resolve(self.config, reasoner)
        objective = ReferenceObjective(problem.reference, cfg.final_weight, cfg.video_weight)
        with CostMeter(reasoner, teacher) as meter:
            trace, video = optimize_lora(reasoner, problem, cfg, objective, progress)
        info = {"terms": trace.queries, "losses": trace.losses, "per_term": trace.per_query,
                "stop_reason": trace.stop_reason, "noise_seed": problem.seed, "lr": cfg.lr,
                "max_steps": cfg.max_steps, "upper_bound": True}
        return MethodResult(video, meter.cost, trace.steps, info)
