"""The Reasoner interface: a few-step video generator with a differentiable one-step prediction,
a full and a light decoder, and a per-instance LoRA (the interface every method uses; README, "Layout of the code")."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import torch

from vlmteach.errors import VlmteachError
from vlmteach.video import Video


@dataclass
class ReasonerCost:
    """Counters a method reads to report cost: network evaluations and backward passes."""

    forwards: int = 0
    backwards: int = 0


GRAD_CHOICES = (False, True, "all", "last")


def grad_steps(grad: bool | str, steps: int) -> int:
    """How many of the last `steps` sampler steps carry gradients for a `grad` argument of `sample`."""
    if grad not in GRAD_CHOICES:
        raise VlmteachError(f"grad must be one of False, True, 'all', 'last'; got {grad!r}")
    if grad is False:
        return 0
    return 1 if grad == "last" else steps


class Reasoner(ABC):
    """A video generation model behind one interface, used by every method."""

    name: str = "reasoner"
    default_steps: int = 4
    # Test-time optimization settings this reasoner works best with, used where the user sets none
    # (any option of teacher_tto / oracle_tto left as None, optim/tto.py `resolve`): the paper's for a
    # 5B model; small models need larger steps (see docs/methods.md).
    recommended_tto: dict = {"lr": 5e-5, "max_steps": 40}
    # What takes precedence over recommended_tto when the loop rolls through noises (noises=rolling).
    recommended_rolling: dict = {}

    def __init__(self) -> None:
        self.cost = ReasonerCost()

    @abstractmethod
    def condition(self, image: torch.Tensor, prompt: str) -> Any:
        """Conditioning for a first frame (3, H, W) in [0, 1] and an instruction."""

    @abstractmethod
    def noise(self, seed: int) -> torch.Tensor:
        """The initial noise z1 for a seed (the same seed gives the same noise)."""

    @abstractmethod
    def one_step(self, z1: torch.Tensor, cond: Any) -> torch.Tensor:
        """Differentiable clean prediction z0_hat = z1 - u(z1, t=1, c) (one network evaluation)."""

    @abstractmethod
    def sample(self, z1: torch.Tensor, cond: Any, steps: int | None = None, grad: bool | str = False) -> torch.Tensor:
        """Few-step sampling from z1 to a clean latent. grad: False (no graph), True or "all" (the whole
        chain is differentiable), "last" (only the last step is; earlier steps run without a graph)."""

    @abstractmethod
    def decode(self, z: torch.Tensor) -> Video:
        """Full decoder: latent -> video, for the final output."""

    @abstractmethod
    def decode_light(self, z: torch.Tensor) -> torch.Tensor:
        """Cheap differentiable surrogate decoder: latent -> frames (T, 3, H, W) in [0, 1]."""

    def lora_targets(self, targets: list[str] | str | None) -> list[str] | str | None:
        """What a requested `targets` means for this reasoner, or a VlmteachError naming the valid
        ones; methods call it before any compute, so a bad name fails fast (default: taken as is)."""
        return targets

    @abstractmethod
    def add_lora(self, rank: int = 16, alpha: float | None = None, targets: list[str] | str | None = None) -> None:
        """Freeze the model and add a fresh LoRA adapter on `targets`: a set the reasoner names, or
        module-name suffixes (None: the reasoner's default)."""

    @abstractmethod
    def lora_parameters(self) -> list[torch.nn.Parameter]:
        """The adapter's trainable parameters."""

    @abstractmethod
    def reset_lora(self) -> None:
        """Re-initialise the adapter so the model is exactly the base model again."""

    @abstractmethod
    def drop_lora(self) -> None:
        """Remove the adapter."""

    def generate(self, image: torch.Tensor, prompt: str, seed: int, steps: int | None = None) -> Video:
        """Convenience: one full few-step sample for a first frame and a prompt."""
        cond = self.condition(image, prompt)
        with torch.no_grad():
            return self.decode(self.sample(self.noise(seed), cond, steps))
