"""What every method takes and returns: a Problem (first frame, prompt, noise seed, optional
oracle scorer) and a MethodResult (video, cost, trace), plus the Method interface."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

import torch

from vlmteach.errors import VlmteachError
from vlmteach.methods.cost import Cost
from vlmteach.reasoners import Reasoner
from vlmteach.specs import parse_value
from vlmteach.teachers import Teacher
from vlmteach.video import Video


@dataclass
class Problem:
    """One task to solve. `scorer` (video -> score in [0, 1]) and `reference` (the ground-truth
    video, or its final frame alone) are privileged, only for the upper bounds pass_at_n and
    oracle_tto; `budget_s` is the wall time a cost-matched method may spend (best_of_n with n=auto)."""

    first_frame: torch.Tensor  # (3, H, W) in [0, 1]
    prompt: str
    seed: int  # noise seed: the same seed gives the same initial noise for every method
    scorer: Callable[[Video], float] | None = None
    budget_s: float | None = None
    reference: Video | None = None


@dataclass
class MethodResult:
    video: Video
    cost: Cost
    steps: int = 0  # optimization steps (0 for methods without any)
    trace: dict[str, Any] = field(default_factory=dict)


@dataclass
class MethodConfig:
    """Base of every method's options; `--set METHOD.KEY=VALUE` sets its fields."""

    def update(self, key: str, raw: Any) -> None:
        """Set a field from its text form (or a Python value, read as its text), converting to the
        field's declared type."""
        known = {f.name: f for f in fields(self)}
        if key not in known:
            raise VlmteachError(f"unknown option {key!r} for {type(self).__name__}; valid: {', '.join(sorted(known))}")
        setattr(self, key, parse_value(raw, str(known[key].type), key))
        self.__post_init__()

    def __post_init__(self) -> None:  # subclasses validate here
        pass


class Method(ABC):
    """A way of turning a Problem into a video with one reasoner and one teacher."""

    name: ClassVar[str]
    config_class: ClassVar[type[MethodConfig]]
    # True for the oracles (pass_at_n, oracle_tto): they use the ground truth, so no deployed system
    # can run them; reports label them as upper bounds, never as competitors.
    upper_bound: ClassVar[bool] = False
    # What the bench runner, the CLI and the report ask of a method, so that none of them tests its name:
    provides_budget: ClassVar[bool] = False  # its wall time per instance is the budget of cost-matched methods
    cost_reference: ClassVar[bool] = False  # the report states every method's wall time as a multiple of its
    progress_unit: ClassVar[str] = "sample"  # what `progress(step, ...)` counts

    def __init__(self, config: MethodConfig | None = None):
        self.config = config if config is not None else self.config_class()

    def needs_scorer(self) -> bool:
        """Whether it needs Problem.scorer (the benchmark's own scorer, privileged)."""
        return False

    def needs_reference(self) -> bool:
        """Whether it needs Problem.reference (the ground truth, privileged)."""
        return False

    def needs_budget(self) -> bool:
        """Whether it needs Problem.budget_s (the wall time of a `provides_budget` method on the instance)."""
        return False

    def progress_total(self, reasoner: Reasoner) -> int | None:
        """How many `progress` calls a run makes at most with this reasoner (None: not known ahead)."""
        return None

    @abstractmethod
    def run(self, reasoner: Reasoner, teacher: Teacher, problem: Problem,
            progress: Callable[[int, float], None] | None = None) -> MethodResult:
        """Solve the problem; `progress(step, loss)` is called by methods that optimize."""
