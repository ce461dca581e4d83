"""`vlmteach doctor`: check the install, load the tiny models and run one optimization step."""

from __future__ import annotations

import importlib.metadata
import math
import platform
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

PACKAGES = ("vlmteach", "torch", "numpy", "pillow", "imageio", "imageio-ffmpeg", "safetensors", "peft", "transformers",
            "diffusers", "tqdm", "matplotlib")


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _video_io() -> str:
    from vlmteach.tasks import get_family
    from vlmteach.video import read_video, write_video

    inst = get_family("maze").generate(1_000_000)
    with tempfile.TemporaryDirectory() as tmp:
        back = read_video(write_video(inst.ground_truth, Path(tmp) / "v.mp4", scale=8))
    score = get_family("maze").score(back, inst).total
    if score < 0.99:
        raise RuntimeError(f"H.264 round trip of a ground truth scored {score:.3f}")
    return "H.264 mp4 written, read back and scored 1.0"


def _optimization_step(reasoner, teacher, steps: int = 1) -> str:
    """`steps` optimization steps on a maze instance; fails unless the loss is finite and gradients
    reach the reasoner's LoRA and nothing else (after the first step lora_A too, since B moved)."""
    from vlmteach.optim import optimization_step
    from vlmteach.tasks import get_family

    inst = get_family("maze").generate(1_000_000)
    queries = teacher.propose_queries(inst.first_frame, inst.prompt)
    cond = reasoner.condition(inst.first_frame, inst.prompt)
    z1 = reasoner.noise(0)
    reasoner.add_lora(rank=16)
    try:
        lora = reasoner.lora_parameters()
        opt = torch.optim.Adam(lora, lr=1e-3)
        t0 = time.perf_counter()
        losses = [optimization_step(reasoner, teacher, cond, z1, queries, opt).loss for _ in range(steps)]
        seconds = (time.perf_counter() - t0) / steps
        lora_ids = {id(p) for p in lora}
        stray = [n for n, p in reasoner.net.named_parameters() if p.grad is not None and id(p) not in lora_ids]
        stray += [n for n, p in teacher.net.named_parameters() if p.grad is not None]
        reached = sum(p.grad is not None and bool(p.grad.abs().sum() > 0) for p in lora)
    finally:
        reasoner.drop_lora()
    need = len(lora) if steps > 1 else 1
    if stray or reached < need or not all(map(math.isfinite, losses)):
        raise RuntimeError(f"gradients outside the LoRA: {stray[:3]}; LoRA tensors with gradient: {reached}/{len(lora)}; "
                           f"losses {losses}")
    trail = " -> ".join(f"{x:.3f}" for x in losses)
    return (f"loss {trail} over {len(queries.texts)} queries, gradients in {reached}/{len(lora)} "
            f"LoRA tensors and nowhere else, {seconds:.2f} s/step")


def _check(name: str, fn: Callable[[], str]) -> Check:
    try:
        return Check(name, True, fn())
    except Exception as exc:  # a doctor reports every failure instead of stopping at the first
        return Check(name, False, f"{type(exc).__name__}: {exc}")


def run_checks() -> list[Check]:
    """Each model is loaded once; the optimization step reuses them (and fails if either did not load)."""
    from vlmteach import reasoners, teachers

    models: dict[str, object] = {}

    def load(kind: str, module) -> str:
        models[kind] = model = module.load("tiny")
        n = sum(p.numel() for p in model.net.parameters())
        picture = getattr(model, "picture", None)  # the tiny teacher's end-state picture (teachers/endstate.py)
        if picture is None:
            extra = ""
        else:
            m = sum(p.numel() for p in picture.end_state.net.parameters())
            extra = f" + an end-state picture of {m / 1e6:.2f}M ({picture.mode})"
        return f"loaded from {module.weights_dir()}, {n / 1e6:.2f}M parameters{extra}"

    return [
        _check("video I/O", _video_io),
        _check("tiny reasoner", lambda: load("reasoner", reasoners)),
        _check("tiny teacher", lambda: load("teacher", teachers)),
        _check("optimization step", lambda: _optimization_step(models["reasoner"], models["teacher"])),
    ]


def tiny_check_backends() -> list[str]:
    """Backends with tiny random-config checks, reasoners then teachers, as their registries list them."""
    from vlmteach import reasoners, teachers

    return [*reasoners.TINY_CHECKS.names(), *teachers.TINY_CHECKS.names()]


def backend_checks(backend: str) -> list[Check]:
    """Tiny random-config models of a real backend (its registry's TINY_CHECKS), each paired with the
    built-in model of the other side, through two optimization steps end to end."""
    from vlmteach import reasoners, teachers

    if backend not in tiny_check_backends():
        raise ValueError(f"unknown backend {backend!r}; valid: {', '.join(tiny_check_backends())}")
    checks: list[Check] = []
    if backend in reasoners.TINY_CHECKS:
        builders = reasoners.TINY_CHECKS.get(backend)
        teacher = teachers.load("tiny")
        for label, build in builders:
            checks.append(_check(f"{label} (tiny)", lambda b=build: _optimization_step(b(), teacher, steps=2)))
    if backend in teachers.TINY_CHECKS:
        builders = teachers.TINY_CHECKS.get(backend)
        reasoner = reasoners.load("tiny")
        for label, build in builders:
            checks.append(_check(f"{label} (tiny)", lambda b=build: _optimization_step(reasoner, b(), steps=2)))
    return checks
