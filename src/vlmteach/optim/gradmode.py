"""Gradient modes of the test-time loop (the paper's ablations; docs/methods.md): which sampler steps the teacher's
gradient flows through to reach the LoRA."""

from __future__ import annotations

from typing import Any

import torch

from vlmteach.errors import VlmteachError
from vlmteach.reasoners import Reasoner

GRAD_MODES = ("first-step", "last-step", "full-chain")


def check_grad_mode(mode: str) -> str:
    if mode not in GRAD_MODES:
        raise VlmteachError(f"unknown gradient mode {mode!r}; valid: {', '.join(GRAD_MODES)}")
    return mode


def clean_prediction(reasoner: Reasoner, z1: torch.Tensor, cond: Any, mode: str = "first-step",
                     steps: int | None = None) -> torch.Tensor:
    """The differentiable clean latent the teacher judges during optimization.

    first-step: the one-step prediction z1 - u(z1, 1, c) (the paper's default, one forward);
    last-step: the full few-step chain with a graph through its last step only;
    full-chain: the full few-step chain with a graph through every step."""
    check_grad_mode(mode)
    if mode == "first-step":
        return reasoner.one_step(z1, cond)
    return reasoner.sample(z1, cond, steps, grad="last" if mode == "last-step" else "all")
