"""Core types of the task layer: Instance, Score, Episode and the TaskFamily base class.

A family is a pure function of (seed, difficulty) to an Instance (grid states of the ground-truth
solution, a prompt and the metadata its scorer needs) plus a deterministic rule-based scorer.
"""

from __future__ import annotations

import zlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch

from vlmteach.errors import TaskError
from vlmteach.tasks.grid import read_states, render, render_frame
from vlmteach.tasks.queries import QueryRule
from vlmteach.video import DEFAULT_FPS, Video

FACULTIES = ("abstraction", "knowledge", "perception", "spatiality", "transformation")
SPLITS = ("in", "ood")
NATIVE_FRAMES = 16
# Weights of the total score: the goal dominates; rules and first-frame fidelity refine it.
W_GOAL, W_PROCESS, W_FIRST = 0.6, 0.3, 0.1
GENERIC_CORRUPTIONS = ("wrong_end", "vanish", "duplicate", "teleport", "recolour", "noise")
MAX_BUILD_TRIES = 200
SATISFIED = 0.999  # a scorer part at or above this counts as a rule kept


def check_part(check: str, parts: dict[str, float]) -> float:
    """The scorer part named by `check`, in [0, 1]. "process" (the generic process query) means every
    process rule (all parts but the goal and first-frame fidelity), so it is the worst of them."""
    if check == "process":
        rules = [v for k, v in parts.items() if k not in ("goal", "first_frame")]
        return float(min(rules)) if rules else 1.0
    return float(parts[check])


def check_satisfied(check: str, parts: dict[str, float]) -> float:
    """1.0 when the scorer part named by `check` is satisfied (check_part >= SATISFIED), else 0.0."""
    return float(check_part(check, parts) >= SATISFIED)


@dataclass(frozen=True)
class Score:
    """A total in [0, 1] and its named parts (goal, each process rule, first_frame)."""

    total: float
    parts: dict[str, float]
    scorer: str

    def to_dict(self) -> dict[str, Any]:
        return {"score": self.total, "parts": dict(self.parts), "scorer": self.scorer}


@dataclass
class Episode:
    """What a family's `build` returns: the solution's grid states, the prompt, scorer metadata."""

    states: list[np.ndarray]
    prompt: str
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class Instance:
    """One task instance, identified by (family, seed, difficulty) and fully deterministic.

    `states` (T, H, W) holds tile codes of the ground-truth solution; frame 0 is the input image.
    """

    family: str
    seed: int
    difficulty: int
    split: str
    faculty: str
    prompt: str
    states: np.ndarray
    meta: dict[str, Any]
    fps: float = DEFAULT_FPS

    @property
    def grid(self) -> tuple[int, int]:
        return int(self.states.shape[1]), int(self.states.shape[2])

    @property
    def first_frame(self) -> torch.Tensor:
        """(3, H, W) image the video must start from."""
        return render_frame(self.states[0])

    @property
    def final_frame(self) -> torch.Tensor:
        return render_frame(self.states[-1])

    @property
    def ground_truth(self) -> Video:
        return render(self.states, self.fps)

    @property
    def solve_frame(self) -> int:
        """Index of the last frame that changes anything: the solution is complete there."""
        diff = np.nonzero((self.states[1:] != self.states[:-1]).any(axis=(1, 2)))[0]
        return int(diff[-1] + 1) if len(diff) else 0

    def to_json(self) -> dict[str, Any]:
        return {
            "format": "vlmteach.instance/1", "family": self.family, "seed": self.seed,
            "difficulty": self.difficulty, "split": self.split, "faculty": self.faculty,
            "prompt": self.prompt, "fps": self.fps, "states": self.states.tolist(), "meta": self.meta,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Instance:
        try:
            states = np.asarray(data["states"], dtype=np.int64)
            if states.ndim != 3:
                raise ValueError(f"states must be (T, H, W), got shape {states.shape}")
            return cls(
                family=str(data["family"]), seed=int(data["seed"]), difficulty=int(data["difficulty"]),
                split=str(data["split"]), faculty=str(data["faculty"]), prompt=str(data["prompt"]),
                states=states, meta=dict(data.get("meta", {})), fps=float(data.get("fps", DEFAULT_FPS)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise TaskError(f"malformed instance data: {exc}") from None


class TaskFamily(ABC):
    """A task family: generator, prompt, ground truth and rule-based scorer, registered by name."""

    name: ClassVar[str]
    faculty: ClassVar[str]
    split: ClassVar[str]
    summary: ClassVar[str]
    difficulty_range: ClassVar[tuple[int, int]] = (1, 3)
    default_difficulty: ClassVar[int] = 2
    corruptions: ClassVar[tuple[str, ...]] = GENERIC_CORRUPTIONS
    frames: ClassVar[int] = NATIVE_FRAMES
    # How a rule-based teacher recognises the family's prompts and what it asks (teachers/rulebook.py);
    # None: the generic queries. The shipped tiny teacher was trained on the families' query texts.
    queries: ClassVar[QueryRule | None] = None

    # ---- what a family implements -------------------------------------------------------------
    @abstractmethod
    def build(self, rng: np.random.Generator, difficulty: int) -> Episode | None:
        """Draw one episode; return None to reject a draw (it is redrawn from the same rng)."""

    @abstractmethod
    def goal(self, final: np.ndarray, instance: Instance) -> float:
        """How well the final grid state (H, W) meets the goal, in [0, 1]."""

    @abstractmethod
    def process(self, states: np.ndarray, instance: Instance) -> dict[str, float]:
        """Named process rules, each in [0, 1], checked on predicted grid states (T, H, W)."""

    def special_corruptions(self, instance: Instance) -> dict[str, np.ndarray]:
        """Family-specific corrupted state sequences (e.g. "wall_cross"), by corruption name."""
        return {}

    # ---- shared machinery ---------------------------------------------------------------------
    def check_difficulty(self, difficulty: int | None) -> int:
        if difficulty is None:
            return self.default_difficulty
        lo, hi = self.difficulty_range
        if not isinstance(difficulty, int) or not lo <= difficulty <= hi:
            raise TaskError(f"{self.name}: difficulty {difficulty!r} is out of range; valid: {lo}..{hi}")
        return difficulty

    def generate(self, seed: int, difficulty: int | None = None) -> Instance:
        """The instance of this family for (seed, difficulty); the same inputs give the same instance."""
        if not isinstance(seed, (int, np.integer)) or seed < 0:
            raise TaskError(f"seed must be a non-negative integer, got {seed!r}")
        difficulty = self.check_difficulty(difficulty)
        rng = np.random.default_rng([int(seed), difficulty, zlib.crc32(self.name.encode())])
        for _ in range(MAX_BUILD_TRIES):
            episode = self.build(rng, difficulty)
            if episode is None or not 3 <= len(episode.states) <= self.frames:
                continue
            states = np.stack(episode.states).astype(np.int64)
            states = np.concatenate([states, np.repeat(states[-1:], self.frames - len(states), 0)])
            instance = Instance(self.name, int(seed), difficulty, self.split, self.faculty,
                                episode.prompt, states, episode.meta)
            if self.goal(states[0], instance) < 1.0:  # never solved in its first frame
                return instance
        raise RuntimeError(f"{self.name}: no valid episode in {MAX_BUILD_TRIES} draws (seed {seed})")

    def score_states(self, states: np.ndarray, instance: Instance) -> Score:
        """Score predicted grid states (T, H, W)."""
        first = float((states[0] == instance.states[0]).mean())
        goal = float(self.goal(states[-1], instance))
        rules = {k: float(v) for k, v in self.process(states, instance).items()}
        process = float(np.mean(list(rules.values()))) if rules else 1.0
        total = W_GOAL * goal + W_PROCESS * process + W_FIRST * first
        return Score(round(total, 6), {"goal": goal, **rules, "first_frame": first}, self.name)

    def score(self, video: Video, instance: Instance) -> Score:
        """Score a video of any size and frame count against an instance of this family."""
        return self.score_states(read_states(video, instance.grid), instance)
