"""The test-time optimization loop (the paper's Algorithm 1, step 3; docs/methods.md): a fresh LoRA, fixed noise,
and up to `max_steps` optimizer steps on the LoRA against the teacher's weighted "Yes" NLL, with
early stopping at tau. The final sample is the method's job (methods/teacher_tto.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import torch

from vlmteach.errors import VlmteachError
from vlmteach.optim.gradmode import GRAD_MODES, check_grad_mode, clean_prediction
from vlmteach.optim.objective import Objective, TeacherObjective
from vlmteach.optim.step import one_step_loss
from vlmteach.reasoners import Reasoner
from vlmteach.teachers import QuerySet, Teacher

OPTIMIZERS = ("adam", "adamw", "sgd")
NOISES = ("fixed", "rolling")
# What an option left as None becomes when the reasoner recommends nothing for it: the paper's.
PAPER_DEFAULTS = {"lr": 5e-5, "max_steps": 40, "grad": "first-step", "select": "last", "init_k": 1, "stall_samples": 0,
                  "noises": "fixed"}
# What the rolling loop (noises=rolling) puts in their place before the reasoner's `recommended_rolling`: each
# iterate is a new sample, so the output is the teacher's pick of them all, and there is no one noise to search for.
ROLLING_DEFAULTS = {"select": "judge", "init_k": 1, "stall_samples": 0}


@dataclass
class TTOConfig:
    """Options of the loop. Paper defaults, except where the tiny world needs otherwise
    (see methods/teacher_tto.py for the tuned defaults and why)."""

    rank: int = 16
    alpha: float | None = None  # LoRA scale alpha/rank; None = rank (scale 1)
    # Which layers get the LoRA: a set the reasoner names (tiny: late | all; wan: attn | attn+ffn, or
    # module suffixes joined by '+'); None: the reasoner's default (tiny: late; wan: its targets option).
    targets: str | None = None
    lr: float | None = None  # None: the reasoner's recommended_tto (the paper's 5e-5 for real models)
    optimizer: str = "adam"
    frames: int = 24  # K, capped by the video length
    tau: float = 0.22  # early stop when the loss is <= tau
    max_steps: int | None = None  # None: the reasoner's recommended_tto (the paper's 40 for real models)
    fixed_steps: int | None = None  # run exactly this many steps, no early stop
    grad: str | None = None  # None: the reasoner's recommendation, else the paper's first-step
    sample_steps: int | None = None  # steps of the reasoner's sampler (last-step, full-chain)
    clip: float | None = None  # clip the LoRA gradient's norm to this before each step (None: no clipping)
    noise: float = 0.0  # pixel noise added to the frames the teacher judges at each step (TeacherObjective)
    final_scale: float = 1.0  # the LoRA's update is multiplied by this for the finished samples (0: the base model)
    # fixed: every iterate starts from the same noise (the paper); rolling: iterate i from candidate noise i
    # (best_of_n's seeds), so each step judges and improves a new sample. None: the reasoner's recommendation.
    noises: str | None = None

    def __post_init__(self) -> None:
        if self.grad is not None:
            check_grad_mode(self.grad)
        if self.optimizer not in OPTIMIZERS:
            raise VlmteachError(f"unknown optimizer {self.optimizer!r}; valid: {', '.join(OPTIMIZERS)}")
        if (self.rank < 1 or self.frames < 1 or (self.max_steps is not None and self.max_steps < 0)
                or (self.lr is not None and self.lr <= 0)):
            raise VlmteachError(f"rank and frames must be >= 1, max_steps >= 0 and lr > 0; got {asdict(self)}")
        if self.noise < 0:
            raise VlmteachError(f"noise must be >= 0, got {self.noise}")
        if self.final_scale < 0:
            raise VlmteachError(f"final_scale must be >= 0, got {self.final_scale}")
        if self.clip is not None and self.clip <= 0:
            raise VlmteachError(f"clip must be > 0 or None, got {self.clip}")
        if self.fixed_steps is not None and self.fixed_steps < 0:
            raise VlmteachError(f"fixed_steps must be >= 0 or None, got {self.fixed_steps}")
        if self.noises is not None and self.noises not in NOISES:
            raise VlmteachError(f"unknown noises {self.noises!r}; valid: {', '.join(NOISES)}")


@dataclass
class TTOTrace:
    """What happened: loss per step and per query (goal first), why it stopped, how many optimizer
    steps were taken. losses[i] is the loss seen before step i; the last entry is the stopping loss."""

    queries: list[str]
    losses: list[float] = field(default_factory=list)
    per_query: list[list[float]] = field(default_factory=list)
    stop_reason: str = ""
    steps: int = 0
    # The clean latent judged last, detached: the LoRA as the loop left it. In the last-step and
    # full-chain modes it is the finished few-step sample itself (methods/teacher_tto.py reuses it).
    prediction: torch.Tensor | None = field(default=None, repr=False)


def resolve(cfg: TTOConfig, reasoner: Reasoner) -> TTOConfig:
    """The config with every option left as None set to the reasoner's recommendation
    (`Reasoner.recommended_tto`), or where it recommends nothing to the paper's default; when the noises
    resolve to rolling, ROLLING_DEFAULTS and `Reasoner.recommended_rolling` take precedence."""
    rec = {**PAPER_DEFAULTS, **reasoner.recommended_tto}
    if (cfg.noises or rec["noises"]) == "rolling":
        rec.update({**ROLLING_DEFAULTS, **reasoner.recommended_rolling})
    return replace(cfg, **{k: v for k, v in rec.items() if hasattr(cfg, k) and getattr(cfg, k) is None})


def make_optimizer(params: list[torch.nn.Parameter], cfg: TTOConfig) -> torch.optim.Optimizer:
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr)
    cls = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
    return cls(params, lr=cfg.lr)


def clipped_step(opt: torch.optim.Optimizer, params: list[torch.nn.Parameter], cfg: TTOConfig) -> None:
    """The loop's optimizer step on the gradients already in `params`, their norm clipped to
    `cfg.clip` first when it is set."""
    if cfg.clip is not None:
        torch.nn.utils.clip_grad_norm_(params, cfg.clip)
    opt.step()


def teacher_loss(reasoner: Reasoner, teacher: Teacher, cond: Any, z1: torch.Tensor, queries: QuerySet,
                 cfg: TTOConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """(weighted loss, per-query NLL) of the light-decoded clean prediction, differentiable."""
    cfg = resolve(cfg, reasoner)
    return one_step_loss(reasoner, teacher, cond, z1, queries, cfg.frames, cfg.grad, cfg.sample_steps)


def optimize(reasoner: Reasoner, teacher: Teacher, cond: Any, z1: torch.Tensor, queries: QuerySet,
             cfg: TTOConfig, on_step: Callable[[int, float], None] | None = None) -> TTOTrace:
    """Run the loop on the reasoner's current LoRA (the caller adds a fresh one and drops it after).

    Each iteration scores the current prediction; it stops when the loss is <= tau (unless
    fixed_steps is set) or when the step budget is spent, else takes one optimizer step. The LoRA
    is the only thing that changes: the reasoner and teacher stay frozen."""
    return optimize_objective(reasoner, TeacherObjective(teacher, queries, cfg.frames, cfg.noise), cond, z1, cfg, on_step)


def optimize_objective(reasoner: Reasoner, objective: Objective, cond: Any, z1: torch.Tensor | None, cfg: TTOConfig,
                       on_step: Callable[[int, float], None] | None = None,
                       trace: TTOTrace | None = None,
                       stop: Callable[[TTOTrace], bool] | None = None,
                       noise_at: Callable[[int], torch.Tensor] | None = None) -> TTOTrace:
    """`optimize` with any objective on the light-decoded clean prediction (optim/objective.py).
    A `trace` passed in is filled as the loop goes, so `on_step` can read `trace.prediction`, the
    clean latent it was just called for. `stop(trace)`, asked after every judgement that a step would
    follow, ends the loop there with stop_reason "stalled" when it returns true (teacher_tto's switch
    to search); like tau, it is not asked when fixed_steps is set. `noise_at(i)`, when given, is the
    noise iterate i starts from instead of z1, which may then be None (the rolling loop, noises=rolling)."""
    cfg = resolve(cfg, reasoner)
    params = reasoner.lora_parameters()
    if not params:
        raise VlmteachError("the reasoner has no LoRA; call reasoner.add_lora() before optimize()")
    opt = make_optimizer(params, cfg)
    budget = cfg.fixed_steps if cfg.fixed_steps is not None else cfg.max_steps
    trace = TTOTrace(queries=[]) if trace is None else trace
    trace.queries = list(objective.names)
    while True:
        # once the budget is spent no step follows, so the last judgement builds no graph
        with torch.set_grad_enabled(trace.steps < budget and torch.is_grad_enabled()):
            z = z1 if noise_at is None else noise_at(trace.steps)
            pred = clean_prediction(reasoner, z, cond, cfg.grad, cfg.sample_steps)
            loss, nll = objective(reasoner.decode_light(pred))
        trace.prediction = pred.detach()
        value = objective.value(loss, nll)
        trace.losses.append(value)
        trace.per_query.append([float(v) for v in nll.detach()])
        if on_step is not None:
            on_step(trace.steps, value)
        if cfg.fixed_steps is None and value <= cfg.tau:
            trace.stop_reason = "tau"
            break
        if stop is not None and cfg.fixed_steps is None and trace.steps < budget and stop(trace):
            trace.stop_reason = "stalled"
            break
        if trace.steps >= budget:
            trace.stop_reason = "fixed_steps" if cfg.fixed_steps is not None else "max_steps"
            break
        opt.zero_grad(set_to_none=True)
        loss.backward()
        reasoner.cost.backwards += 1
        objective.count_backward()
        clipped_step(opt, params, cfg)
        trace.steps += 1
    return trace


__all__ = ["GRAD_MODES", "NOISES", "OPTIMIZERS", "TTOConfig", "TTOTrace", "optimize", "optimize_objective", "teacher_loss"]
