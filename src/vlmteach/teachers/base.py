"""The Teacher interface: a vision-language judge that writes yes/no queries for an instance and
scores frames with a differentiable "Yes" likelihood (the paper's Algorithm 1; docs/methods.md)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import torch

from vlmteach.errors import VlmteachError

DEFAULT_LAM = 0.5


@dataclass(frozen=True)
class QuerySet:
    """One goal query and 1..3 process queries, phrased so that "Yes" means satisfied.

    `checks` optionally names, per query (goal first), the scorer part it stands for: used to label
    training data and to diagnose a teacher, never by the method itself."""

    goal: str
    process: tuple[str, ...]
    lam: float = DEFAULT_LAM
    source: str = "rulebook"  # rulebook | generic | generated
    checks: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.goal.strip():
            raise VlmteachError("a QuerySet needs a goal query")
        if not 1 <= len(self.process) <= 3:
            raise VlmteachError(f"a QuerySet needs 1 to 3 process queries, got {len(self.process)}")
        if not 0.0 <= self.lam <= 1.0:
            raise VlmteachError(f"lam must be in [0, 1], got {self.lam}")

    @property
    def texts(self) -> list[str]:
        """All queries, goal first."""
        return [self.goal, *self.process]

    @property
    def weights(self) -> torch.Tensor:
        """Loss weights, goal first: lam for the goal, (1 - lam) / M for each process query."""
        m = len(self.process)
        return torch.tensor([self.lam] + [(1 - self.lam) / m] * m)


@dataclass
class TeacherCost:
    forwards: int = 0
    backwards: int = 0


class Teacher(ABC):
    """A judge behind one interface, used by every method."""

    name: str = "teacher"
    can_generate: bool = False  # True when rewrite_prompt / critique produce free text

    def __init__(self) -> None:
        self.cost = TeacherCost()

    @abstractmethod
    def propose_queries(self, first_frame: torch.Tensor, prompt: str) -> QuerySet:
        """Goal and process queries for an instance: its first frame (3, H, W) and instruction."""

    @abstractmethod
    def yes_nll(self, frames: torch.Tensor, queries: list[str]) -> torch.Tensor:
        """-log P("Yes" | frames, query) per query (n,), differentiable w.r.t. frames (K, 3, H, W).
        The video is encoded once for all queries."""

    def rewrite_prompt(self, first_frame: torch.Tensor, prompt: str, feedback: str | None = None) -> str:
        """A clearer instruction for the reasoner ("VLM-as-Solver"), optionally revised in the light
        of a critique of an earlier attempt (iterative refinement); needs a generating teacher."""
        raise VlmteachError(f"teacher {self.name!r} cannot generate text, so it cannot rewrite prompts")

    def critique(self, frames: torch.Tensor, prompt: str) -> str:
        """A short critique of a generated video; needs a generating teacher."""
        raise VlmteachError(f"teacher {self.name!r} cannot generate text, so it cannot critique videos")
