"""teacher_tto: VLM-as-Teacher test-time optimization (the paper's Algorithm 1; docs/methods.md).

queries -> fresh LoRA -> fixed noise -> loop {one-step prediction -> light decode -> K frames ->
per-query "Yes" NLL -> lam-weighted loss -> stop at tau -> optimizer step on the LoRA} -> final
few-step sample from the same noise, full decoder. The LoRA is dropped afterwards, so every
problem starts from the base reasoner; its random initialisation is seeded by the problem's seed,
so a run is reproducible whatever ran before it.

Two options guard against an imperfect judge (docs/methods.md): `init_k` searches first (the noise
whose finished sample the teacher scores best among k, then the loop from that noise), and
`select=judge` keeps the iterate whose finished sample the teacher scores best, instead of the last:
the loop optimizes the teacher's view of a light-decoded one-step prediction, the selection judges
the video the user gets, and iterate 0 (the LoRA untouched) is always a candidate. `stall_samples`
(off by default) hands a loop whose loss has hardly moved after its first steps over to search: more
noises, and the teacher's pick of every finished sample.

`noises=rolling` (the tiny reasoner's default; docs/methods.md) keeps one LoRA but starts iterate i from
best_of_n's candidate noise i, so each step judges a new sample drawn with what the LoRA has learned so
far and improves the LoRA on it; the output is the sample the teacher scores best (select=judge). In
the last-step and full-chain modes that judgement is the loss the loop has just computed on the
sample, so it costs nothing more."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import torch

from vlmteach.errors import VlmteachError
from vlmteach.methods.base import Method, MethodConfig, MethodResult, Problem
from vlmteach.methods.common import candidate_seed, full_sample, lora_scaled, teacher_loss_of
from vlmteach.methods.cost import CostMeter
from vlmteach.optim import Objective, TeacherObjective, TTOConfig, TTOTrace, optimize_objective
from vlmteach.optim.tto import resolve
from vlmteach.teachers import QuerySet, generic_queries
from vlmteach.video import Video

QUERY_KINDS = ("task", "generic")
SELECTS = ("last", "judge")


@dataclass
class TeacherTTOConfig(TTOConfig, MethodConfig):
    """The loop's options (TTOConfig) plus lam, the kind of queries, the search before the loop and
    the choice of the output iterate.

    Defaults are the paper's (rank 16, Adam, lam 0.5, K 24, tau 0.22, first-step gradients, no
    search, the last iterate); lr and max_steps default to the reasoner's recommendation (the
    paper's 5e-5 and 40 for real models; the tiny one's: docs/methods.md)."""

    lam: float = 0.5
    # The lam of the loss the LoRA steps on (None: lam). The output is still judged with lam. 1 steps on
    # the goal query alone; with the shipped tiny teacher, whose gradient is its picture's (goal questions
    # only), it changes no direction, only the loss's scale.
    grad_lam: float | None = None
    queries: str = "task"  # task: the teacher's own queries; generic: fixed task-agnostic ones
    # None below: the reasoner's recommendation (Reasoner.recommended_tto), else the paper's (1, "last")
    init_k: int | None = None  # > 1: start from the best of k noises by the teacher (candidate 0: the problem's)
    select: str | None = None  # last: the final iterate (the paper); judge: the iterate the teacher scores best
    # > 0: when the loop stalls (its loss fell by less than stall_drop in its first stall_steps steps),
    # stop it and judge this many more noises; the output is the teacher's pick of every finished sample
    # (the search's, the loop's last, these). None: the reasoner's recommendation; 0: never switch (the paper).
    stall_samples: int | None = None
    stall_steps: int = 2
    stall_drop: float = 0.1  # in the teacher's weighted loss (mean "Yes" NLL)

    def __post_init__(self) -> None:
        TTOConfig.__post_init__(self)
        if self.queries not in QUERY_KINDS:
            raise VlmteachError(f"unknown queries {self.queries!r}; valid: {', '.join(QUERY_KINDS)}")
        if not 0.0 <= self.lam <= 1.0:
            raise VlmteachError(f"lam must be in [0, 1], got {self.lam}")
        if self.grad_lam is not None and not 0.0 <= self.grad_lam <= 1.0:
            raise VlmteachError(f"grad_lam must be in [0, 1] (or unset: lam), got {self.grad_lam}")
        if self.select is not None and self.select not in SELECTS:
            raise VlmteachError(f"unknown select {self.select!r}; valid: {', '.join(SELECTS)}")
        if self.init_k is not None and self.init_k < 1:
            raise VlmteachError(f"init_k must be >= 1, got {self.init_k}")
        if self.stall_samples is not None and self.stall_samples < 0:
            raise VlmteachError(f"stall_samples must be >= 0 (0: never switch to search), got {self.stall_samples}")
        if self.stall_steps < 1:
            raise VlmteachError(f"stall_steps must be >= 1, got {self.stall_steps}")
        check_rolling(self)


def check_rolling(cfg: TeacherTTOConfig) -> None:
    """The rolling loop draws a new noise at every step, so it has no one noise to search for or to
    switch away from: init_k > 1 and stall_samples > 0 are refused with it. Checked as options are set,
    and again when `resolve` builds the config with the reasoner's recommendations in (its `replace` runs
    __post_init__), since noises=rolling may be the reasoner's and init_k the user's."""
    if cfg.noises == "rolling" and ((cfg.init_k or 1) > 1 or (cfg.stall_samples or 0) > 0):
        raise VlmteachError("noises=rolling draws a new noise at every step, so it takes neither a search for "
                            f"one noise (init_k {cfg.init_k}) nor a switch to search (stall_samples "
                            f"{cfg.stall_samples}); leave those unset, or add noises=fixed")


Hook = Callable[[int, float, Any, torch.Tensor], None]


def add_fresh_lora(reasoner, cfg: TTOConfig, seed: int) -> None:
    """Add the loop's fresh LoRA (cfg's rank, alpha and targets), its random init drawn from `seed`
    alone (the problem's, so it does not depend on what ran before) without touching the global RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        reasoner.add_lora(cfg.rank, cfg.alpha, cfg.targets)


def optimize_lora(reasoner, problem: Problem, cfg: TTOConfig, objective: Objective, progress=None,
                  seed: int | None = None, on_iterate: Hook | None = None,
                  final: bool = True, stop: Callable[[TTOTrace], bool] | None = None
                  ) -> tuple[TTOTrace, Video | None]:
    """A fresh LoRA (its random init seeded by the problem), the loop on `objective` from the fixed
    noise of `seed` (default: the problem's), then the final few-step sample from the same noise; the
    LoRA is dropped after. `on_iterate(step, loss, cond, prediction)` runs at every iterate with the
    LoRA as it is (iterate 0 included) and the clean latent the loop just judged; with `final=False`
    the caller has what it needs and no sample is drawn. `stop` may end the loop early (optim/tto.py).
    With noises=rolling, iterate i starts from candidate noise i instead (`iterate_seed`)."""
    seed = problem.seed if seed is None else seed
    cond = reasoner.condition(problem.first_frame, problem.prompt)
    tto = resolve(cfg, reasoner)
    rolling = tto.noises == "rolling"
    noise_at = (lambda i: reasoner.noise(iterate_seed(problem, seed, i, True))) if rolling else None
    z1 = None if rolling else reasoner.noise(seed)
    add_fresh_lora(reasoner, cfg, problem.seed)

    trace = TTOTrace(queries=[])

    def hook(step: int, loss: float) -> None:
        if on_iterate is not None:
            on_iterate(step, loss, cond, trace.prediction)
        if progress is not None:
            progress(step, loss)

    try:
        optimize_objective(reasoner, objective, cond, z1, cfg, hook, trace, stop, noise_at)
        last_seed = iterate_seed(problem, seed, trace.steps, rolling)
        video = iterate_sample(reasoner, cond, last_seed, tto, trace.prediction) if final else None
    finally:
        reasoner.drop_lora()
    return trace, video


def iterate_seed(problem: Problem, seed: int, step: int, rolling: bool) -> int:
    """The noise seed of iterate `step`: the loop's one seed, or when rolling best_of_n's candidate `step`
    (candidate 0 is the problem's own seed, so iterate 0 is the vanilla sample)."""
    return candidate_seed(problem.seed, step) if rolling else seed


def reuses_last_chain(cfg: TTOConfig) -> bool:
    """Whether the loop's clean prediction is already the finished sample: in the last-step and
    full-chain modes it runs the whole few-step chain with the LoRA as it is, unscaled, so drawing the
    sample again would repeat it (one full sample per problem saved; one per iterate with select=judge)."""
    return cfg.grad in ("last-step", "full-chain") and cfg.final_scale == 1.0


def iterate_sample(reasoner, cond, seed: int, cfg: TTOConfig, prediction: torch.Tensor) -> Video:
    """The finished sample of the LoRA as it is at an iterate, given the clean latent the loop just
    judged there: that latent decoded where it is that sample (`reuses_last_chain`), else drawn."""
    return reasoner.decode(prediction) if reuses_last_chain(cfg) else finished_sample(reasoner, cond, seed, cfg)


def judges_in_loop(cfg: TeacherTTOConfig) -> bool:
    """Whether select=judge can take the loss the loop has just computed as the teacher's judgement of an
    iterate's finished sample: when rolling (each iterate is a new sample, judged once), the loop's
    prediction is that sample (`reuses_last_chain`) and the frames carry no added noise. The teacher
    then sees the light decoder's view of it, not the full decoder's: one teacher pass saved per step,
    and on development seeds the same picks in effect (docs/methods.md)."""
    return cfg.noises == "rolling" and reuses_last_chain(cfg) and cfg.noise == 0


def finished_sample(reasoner, cond, seed: int, cfg: TTOConfig) -> Video:
    """The few-step sample a user would get from the LoRA as it is, its update scaled by final_scale."""
    with lora_scaled(reasoner, cfg.final_scale):
        return full_sample(reasoner, cond, seed, cfg.sample_steps)


def problem_queries(teacher, problem: Problem, kind: str, lam: float) -> QuerySet:
    if kind == "generic":
        return generic_queries(lam)
    return replace(teacher.propose_queries(problem.first_frame, problem.prompt), lam=lam)


Candidate = tuple[float, int, Video]  # (the teacher's loss, noise seed, finished sample)


def judge_candidates(reasoner, teacher, problem: Problem, queries: QuerySet, cfg: TeacherTTOConfig,
                     first: int, count: int) -> list[Candidate]:
    """Finished samples of candidate noises first .. first + count - 1 (best_of_n's seeds), judged."""
    cond = reasoner.condition(problem.first_frame, problem.prompt)
    cands = []
    for i in range(first, first + count):
        seed = candidate_seed(problem.seed, i)
        video = full_sample(reasoner, cond, seed, cfg.sample_steps)
        cands.append((teacher_loss_of(teacher, video, queries, cfg.frames)[0], seed, video))
    return cands


def search_noise(reasoner, teacher, problem: Problem, queries: QuerySet, cfg: TeacherTTOConfig
                 ) -> tuple[int, Video | None, list[Candidate]]:
    """(seed, its finished sample, every candidate): the best of init_k noises by the teacher."""
    if cfg.init_k == 1:
        return problem.seed, None, []
    cands = judge_candidates(reasoner, teacher, problem, queries, cfg, 0, cfg.init_k)
    best = min(range(len(cands)), key=lambda j: cands[j][0])
    return cands[best][1], cands[best][2], cands


def stall_rule(cfg: TeacherTTOConfig) -> Callable[[TTOTrace], bool] | None:
    """The loop's switch to search: true at the judgement after stall_steps steps when the loss has
    fallen by less than stall_drop since the first (None when stall_samples is 0)."""
    if not cfg.stall_samples:
        return None
    return lambda trace: trace.steps == cfg.stall_steps and trace.losses[0] - trace.losses[-1] < cfg.stall_drop


def step_budget(cfg: TTOConfig, reasoner, method: str = "teacher_tto") -> int:
    """The optimizer steps the loop may take, as it will resolve them for this reasoner (optim/tto.py).
    Callers ask before running, so a config the reasoner's defaults make invalid fails here, named
    after `method`, before anything is sampled."""
    try:
        tto = resolve(cfg, reasoner)
    except VlmteachError as exc:
        raise VlmteachError(f"{method}: {exc}") from None
    return tto.fixed_steps if tto.fixed_steps is not None else tto.max_steps


class TeacherTTO(Method):
    name = "teacher_tto"
    config_class = TeacherTTOConfig
    provides_budget = True  # best_of_n[n=auto] spends its wall time: the paper's cost-matched comparison
    progress_unit = "step"

    def progress_total(self, reasoner) -> int | None:
        return step_budget(self.config, reasoner, self.name)

    def run(self, reasoner, teacher, problem: Problem, progress=None) -> MethodResult:
        cfg = resolve(self.config, reasoner)
        reasoner.lora_targets(cfg.targets)  # a bad name fails here, not after the search
        info: dict[str, Any] = {}
        with CostMeter(reasoner, teacher) as meter:
            queries = problem_queries(teacher, problem, cfg.queries, cfg.lam)
            seed, searched, cands = search_noise(reasoner, teacher, problem, queries, cfg)
            if cands:
                info.update(search_losses=[c[0] for c in cands], search_seeds=[c[1] for c in cands])
            rolling = cfg.noises == "rolling"
            judged: list[tuple[float, int, Video]] = []  # the best iterate so far, as (loss, step, sample)
            losses: list[float] = []

            def judge_iterate(step: int, loss: float, cond, prediction: torch.Tensor) -> None:
                if step == 0 and searched is not None:
                    video = searched
                else:
                    video = iterate_sample(reasoner, cond, iterate_seed(problem, seed, step, rolling), cfg, prediction)
                losses.append(loss if judges_in_loop(cfg) else teacher_loss_of(teacher, video, queries, cfg.frames)[0])
                if not judged or losses[-1] < judged[0][0]:
                    judged[:] = [(losses[-1], step, video)]

            objective = TeacherObjective(teacher, queries, cfg.frames, cfg.noise, problem.seed, cfg.grad_lam)
            if cfg.select == "judge":
                trace, _ = optimize_lora(reasoner, problem, cfg, objective, progress, seed, judge_iterate, final=False,
                                         stop=stall_rule(cfg))
                video = judged[0][2]
                info.update(iterate_losses=losses, chosen_iterate=judged[0][1])
                if rolling:
                    info.update(iterate_seeds=[iterate_seed(problem, seed, i, True) for i in range(len(losses))],
                                output_seed=iterate_seed(problem, seed, judged[0][1], True))
            else:
                trace, video = optimize_lora(reasoner, problem, cfg, objective, progress, seed, stop=stall_rule(cfg))
            if trace.stop_reason == "stalled":
                video = self.switch_to_search(reasoner, teacher, problem, queries, cfg, cands, (seed, video), judged, info)
                info.pop("chosen_iterate", None)  # the pick was among every finished sample, not the iterates
        info = {"queries": queries.texts, "query_kinds": ["goal"] + ["process"] * len(queries.process),
                "query_source": queries.source, "lam": queries.lam, "losses": trace.losses,
                "per_query": trace.per_query, "stop_reason": trace.stop_reason, "noise_seed": seed,
                "lr": cfg.lr, "max_steps": cfg.max_steps, "grad": cfg.grad, "select": cfg.select, "grad_lam": cfg.grad_lam,
                "targets": cfg.targets or "default",
                "final_scale": cfg.final_scale, "stall_samples": cfg.stall_samples, "noises": cfg.noises, **info}
        return MethodResult(video, meter.cost, trace.steps, info)

    @staticmethod
    def switch_to_search(reasoner, teacher, problem: Problem, queries: QuerySet, cfg: TeacherTTOConfig,
                         cands: list[Candidate], loop: tuple[int, Video | None],
                         judged: list[tuple[float, int, Video]], info: dict) -> Video:
        """The loop stalled: judge stall_samples more noises (after the search's) and return the
        teacher's pick among every finished sample (the search's, the loop's, these), noting it in info."""
        seed, video = loop
        if judged:  # select=judge: the iterates were judged already; the best of them stands for them all
            looped = [(loss, seed, v) for loss, _, v in judged]
        else:
            looped = [(teacher_loss_of(teacher, video, queries, cfg.frames)[0], seed, video)] if video is not None else []
        extra = judge_candidates(reasoner, teacher, problem, queries, cfg, len(cands) or 1, cfg.stall_samples)
        pool = cands + looped + extra
        sources = ["search"] * len(cands) + ["loop"] * len(looped) + ["new"] * len(extra)
        best = min(range(len(pool)), key=lambda j: pool[j][0])
        info.update(stalled=True, stall_losses=[c[0] for c in extra], stall_seeds=[c[1] for c in extra],
                    stall_pick=sources[best], output_seed=pool[best][1])
        return pool[best][2]
