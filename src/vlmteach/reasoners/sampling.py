"""Few-step flow-matching samplers shared by the reasoners: the shifted time grid, Euler ODE steps, and
the re-noising sampler of DMD-distilled generators.

Convention: z_t = (1 - t) x0 + t eps, velocity u = eps - x0, so x0 = z_t - t u."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import torch

from vlmteach.errors import VlmteachError

SAMPLERS = ("euler", "dmd")
Velocity = Callable[[torch.Tensor, float], torch.Tensor]


def check_sampler(name: str) -> None:
    if name not in SAMPLERS:
        raise VlmteachError(f"unknown sampler {name!r}; valid: {', '.join(SAMPLERS)}")


def shifted_sigmas(steps: int, shift: float = 1.0) -> list[float]:
    """steps + 1 times from 1 to 0: t_i = 1 - i / steps, shifted to s t / (1 + (s - 1) t).

    4 steps at shift 5 give [1, 0.9375, 0.8333, 0.625, 0]: the times (x 1000) that the LightX2V step
    list [1000, 750, 500, 250] picks from a 1000-point shifted grid. diffusers' FlowMatchEulerDiscrete
    scheduler gives the same when handed `sigmas=1 - i / steps` and `shift=s`."""
    if steps < 1:
        raise VlmteachError(f"steps must be >= 1, got {steps}")
    ts = torch.linspace(1.0, 0.0, steps + 1, dtype=torch.float32)
    return (shift * ts / (1 + (shift - 1) * ts)).tolist()


def step_noise(z1: torch.Tensor, step: int) -> torch.Tensor:
    """The fresh noise the dmd sampler adds after step `step` (0-based): standard normal, drawn from a
    generator seeded by the starting noise z1's bytes and the step, so the sample stays a function of
    z1 (and so of the problem's seed), as the Euler sample is."""
    data = z1.detach().to("cpu", torch.float32).contiguous().numpy().tobytes()
    seed = int.from_bytes(hashlib.blake2b(data + step.to_bytes(4, "little"), digest_size=8).digest(), "little")
    g = torch.Generator().manual_seed(seed & ((1 << 63) - 1))
    return torch.randn(z1.shape, generator=g).to(z1.device)


def flow_sample(velocity: Velocity, z1: torch.Tensor, sigmas: list[float], grad_last: int = 0,
                sampler: str = "euler") -> torch.Tensor:
    """Integrate from z1 at sigmas[0] to sigmas[-1]; only the last `grad_last` steps build a graph.

    euler: z <- z + (t' - t) u(z, t), the ODE step of flow-matching and LightX2V/Lightning-style
    step-distilled models. dmd: predict x0 = z - t u(z, t), then re-noise to the next time,
    z <- (1 - t') x0 + t' eps with fresh eps (step_noise), as DMD2-distilled generators sample.
    One step from t=1 to 0 is the same under both."""
    check_sampler(sampler)
    steps = len(sigmas) - 1
    z = z1
    for i, (t, t_next) in enumerate(zip(sigmas[:-1], sigmas[1:])):
        with torch.set_grad_enabled(i >= steps - grad_last and torch.is_grad_enabled()):
            u = velocity(z, t)
            if sampler == "euler":
                z = z + (t_next - t) * u
            else:
                x0 = z - t * u
                z = x0 if t_next == 0 else (1 - t_next) * x0 + t_next * step_noise(z1, i).to(x0)
    return z
