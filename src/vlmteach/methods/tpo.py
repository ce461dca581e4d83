"""tpo: iterative prompt refinement from the teacher's critique (as VideoTPO).

Round 0 samples with the original prompt; each later round asks the teacher to critique the last
video and to rewrite the prompt in its light, then samples again from the same noise. The video
the teacher scores best (lowest weighted "Yes" NLL) is kept. Stops early when the critique finds
nothing wrong. With the tiny teacher, critique and rewrite are rule-book templates."""

from __future__ import annotations

from dataclasses import dataclass

from vlmteach.errors import VlmteachError
from vlmteach.methods.base import Method, MethodConfig, MethodResult, Problem
from vlmteach.methods.common import full_sample, teacher_loss_of
from vlmteach.methods.cost import CostMeter


@dataclass
class TPOConfig(MethodConfig):
    rounds: int = 3  # samples in all, the first with the original prompt
    frames: int = 24
    steps: int | None = None

    def __post_init__(self) -> None:
        if self.rounds < 1:
            raise VlmteachError(f"tpo.rounds must be >= 1, got {self.rounds}")


class TPO(Method):
    name = "tpo"
    config_class = TPOConfig

    def progress_total(self, reasoner) -> int | None:
        return self.config.rounds

    def run(self, reasoner, teacher, problem: Problem, progress=None) -> MethodResult:
        cfg = self.config
        with CostMeter(reasoner, teacher) as meter:
            queries = teacher.propose_queries(problem.first_frame, problem.prompt)
            prompt, rounds = problem.prompt, []
            for i in range(cfg.rounds):
                video = full_sample(reasoner, reasoner.condition(problem.first_frame, prompt), problem.seed, cfg.steps)
                loss = teacher_loss_of(teacher, video, queries, cfg.frames)[0]
                critique = teacher.critique(video.frames, problem.prompt)
                rounds.append({"prompt": prompt, "loss": loss, "critique": critique, "video": video})
                if progress is not None:
                    progress(i, loss)
                if not critique or i == cfg.rounds - 1:
                    break
                prompt = teacher.rewrite_prompt(problem.first_frame, problem.prompt, feedback=critique)
            best = min(range(len(rounds)), key=lambda j: rounds[j]["loss"])
        trace = {"queries": queries.texts, "chosen": best,
                 "rounds": [{k: v for k, v in r.items() if k != "video"} for r in rounds]}
        return MethodResult(rounds[best]["video"], meter.cost, 0, trace)
