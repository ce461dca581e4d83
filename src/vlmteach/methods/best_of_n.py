"""best_of_n / pass_at_n: N samples from different noises, keep the best.

The selector is the teacher (deployable: lowest weighted "Yes" NLL of its queries on the finished
video) or the oracle (the benchmark's own scorer, i.e. the paper's Pass@N). With n="auto", N is
chosen so that the wall time matches a budget (teacher_tto's on the same instance): candidates are
drawn until one more would exceed it."""

from __future__ import annotations

import time
from dataclasses import dataclass

from vlmteach.errors import VlmteachError
from vlmteach.methods.base import Method, MethodConfig, MethodResult, Problem
from vlmteach.methods.common import candidate_seed, full_sample, teacher_loss_of
from vlmteach.methods.cost import CostMeter

SELECTORS = ("teacher", "oracle")
MAX_AUTO_N = 64


@dataclass
class BestOfNConfig(MethodConfig):
    n: int | str = 5  # a count, or "auto" (match Problem.budget_s)
    selector: str = "teacher"
    frames: int = 24  # frames the teacher sees (teacher selector)
    steps: int | None = None

    def __post_init__(self) -> None:
        if self.selector not in SELECTORS:
            raise VlmteachError(f"unknown selector {self.selector!r}; valid: {', '.join(SELECTORS)}")
        if not (self.n == "auto" or (isinstance(self.n, int) and self.n >= 1)):
            raise VlmteachError(f"n must be a positive integer or 'auto', got {self.n!r}")


@dataclass
class PassAtNConfig(BestOfNConfig):
    selector: str = "oracle"


class BestOfN(Method):
    name = "best_of_n"
    config_class = BestOfNConfig

    def needs_scorer(self) -> bool:
        return self.config.selector == "oracle"

    def needs_budget(self) -> bool:
        return self.config.n == "auto"

    def progress_total(self, reasoner) -> int | None:
        return self.config.n if isinstance(self.config.n, int) else None

    def run(self, reasoner, teacher, problem: Problem, progress=None) -> MethodResult:
        cfg = self.config
        if cfg.selector == "oracle" and problem.scorer is None:
            raise VlmteachError(f"{self.name}: the oracle selector needs a scorer (a benchmark instance); "
                                "use selector=teacher for a bare image and prompt")
        if cfg.n == "auto" and problem.budget_s is None:
            raise VlmteachError(f"{self.name}: n=auto needs a wall-time budget (run teacher_tto on the same "
                                "instance first, as `vlmteach bench` does), or give n as a number")
        with CostMeter(reasoner, teacher) as meter:
            t0 = time.perf_counter()
            cond = reasoner.condition(problem.first_frame, problem.prompt)
            queries = teacher.propose_queries(problem.first_frame, problem.prompt) if cfg.selector == "teacher" else None
            cands = []
            while True:
                i = len(cands)
                seed = candidate_seed(problem.seed, i)
                video = full_sample(reasoner, cond, seed, cfg.steps)
                if queries is not None:
                    value = -teacher_loss_of(teacher, video, queries, cfg.frames)[0]
                else:
                    value = float(problem.scorer(video))
                cands.append((value, seed, video))
                if progress is not None:
                    progress(i, -value if queries is not None else value)
                if cfg.n != "auto":
                    if len(cands) >= cfg.n:
                        break
                else:
                    spent = time.perf_counter() - t0
                    if spent * (len(cands) + 1) / len(cands) > problem.budget_s or len(cands) >= MAX_AUTO_N:
                        break
            best = max(range(len(cands)), key=lambda j: cands[j][0])
        trace = {"n": len(cands), "selector": cfg.selector, "chosen": best,
                 "values": [c[0] for c in cands], "noise_seeds": [c[1] for c in cands]}
        if queries is not None:
            trace["queries"] = queries.texts
        if cfg.n == "auto":
            trace["budget_s"] = problem.budget_s
        return MethodResult(cands[best][2], meter.cost, 0, trace)


class PassAtN(BestOfN):
    """best_of_n with the oracle selector (the paper's Pass@N)."""

    name = "pass_at_n"
    config_class = PassAtNConfig
    upper_bound = True
    cost_reference = True  # the paper compares the method's wall time with Pass@5's
