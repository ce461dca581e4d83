"""teacher_tto: VLM-as-Teacher test-time optimization (METHOD.md, Algorithm 1).

queries -> fresh LoRA -> fixed noise -> loop {one-step prediction -> light decode -> K frames ->
per-query "Yes" NLL -> lam-weighted loss -> stop at tau -> optimizer step on the LoRA} -> final
few-step sample from the same noise, full decoder. The LoRA is dropped afterwards, so every
problem starts from the base reasoner; its random initialisation is seeded by the problem's seed,
so a run is reproducible whatever ran before it."""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from vlmteach.errors import VlmteachError
from vlmteach.methods.base import Method, MethodConfig, MethodResult, Problem
from vlmteach.methods.common import full_sample
from vlmteach.methods.cost import CostMeter
from vlmteach.optim import TTOConfig, optimize
from vlmteach.optim.tto import resolve
from vlmteach.teachers import QuerySet, generic_queries

QUERY_KINDS = ("task", "generic")


@dataclass
class TeacherTTOConfig(TTOConfig, MethodConfig):
    """The loop's options (TTOConfig) plus lam and the kind of queries.

    Defaults are the paper's (rank 16, Adam, lam 0.5, K 24, tau 0.22, first-step gradients); lr and
    max_steps default to the reasoner's recommendation (the paper's 5e-5 and 40 for real models,
    larger steps and a smaller budget for the tiny one: docs/methods.md)."""

    lam: float = 0.5
    queries: str = "task"  # task: the teacher's own queries; generic: fixed task-agnostic ones

    def __post_init__(self) -> None:
        TTOConfig.__post_init__(self)
        if self.queries not in QUERY_KINDS:
            raise VlmteachError(f"unknown queries {self.queries!r}; valid: {', '.join(QUERY_KINDS)}")
        if not 0.0 <= self.lam <= 1.0:
            raise VlmteachError(f"lam must be in [0, 1], got {self.lam}")


def problem_queries(teacher, problem: Problem, kind: str, lam: float) -> QuerySet:
    if kind == "generic":
        return generic_queries(lam)
    return replace(teacher.propose_queries(problem.first_frame, problem.prompt), lam=lam)


class TeacherTTO(Method):
    name = "teacher_tto"
    config_class = TeacherTTOConfig

    def run(self, reasoner, teacher, problem: Problem, progress=None) -> MethodResult:
        cfg = resolve(self.config, reasoner)
        with CostMeter(reasoner, teacher) as meter:
            queries = problem_queries(teacher, problem, cfg.queries, cfg.lam)
            cond = reasoner.condition(problem.first_frame, problem.prompt)
            z1 = reasoner.noise(problem.seed)
            with torch.random.fork_rng(devices=[]):  # the LoRA's random A depends on the problem only
                torch.manual_seed(problem.seed)
                reasoner.add_lora(cfg.rank, cfg.alpha)
            try:
                trace = optimize(reasoner, teacher, cond, z1, queries, cfg, progress)
                video = full_sample(reasoner, cond, problem.seed, cfg.sample_steps)
            finally:
                reasoner.drop_lora()
        info = {"queries": queries.texts, "query_kinds": ["goal"] + ["process"] * len(queries.process),
                "query_source": queries.source, "lam": queries.lam, "losses": trace.losses,
                "per_query": trace.per_query, "stop_reason": trace.stop_reason, "noise_seed": problem.seed,
                "lr": cfg.lr, "max_steps": cfg.max_steps}
        return MethodResult(video, meter.cost, trace.steps, info)
