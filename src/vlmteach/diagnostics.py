"""`vlmteach doctor`: check the install, load the tiny models and run one optimization step."""

from __future__ import annotations

import importlib.metadata
import platform
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

PACKAGES = ("vlmteach", "torch", "numpy", "pillow", "imageio", "imageio-ffmpeg", "safetensors", "peft", "tqdm", "matplotlib")


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


def _optimization_step(reasoner, teacher) -> str:
    from vlmteach.optim import optimization_step
    from vlmteach.tasks import get_family

    inst = get_family("maze").generate(1_000_000)
    queries = teacher.propose_queries(inst.first_frame, inst.prompt)
    cond = reasoner.condition(inst.first_frame, inst.prompt)
    reasoner.add_lora(rank=16)
    lora = reasoner.lora_parameters()
    opt = torch.optim.Adam(lora, lr=1e-3)
    t0 = time.perf_counter()
    result = optimization_step(reasoner, teacher, cond, reasoner.noise(0), queries, opt)
    seconds = time.perf_counter() - t0
    lora_ids = {id(p) for p in lora}
    stray = [n for n, p in reasoner.net.named_parameters() if p.grad is not None and id(p) not in lora_ids]
    stray += [n for n, p in teacher.net.named_parameters() if p.grad is not None]
    reached = sum(p.grad is not None and bool(p.grad.abs().sum() > 0) for p in lora)
    reasoner.drop_lora()
    if stray or not reached or not torch.isfinite(torch.tensor(result.loss)):
        raise RuntimeError(f"gradients outside the LoRA: {stray[:3]}; LoRA tensors with gradient: {reached}; "
                           f"loss {result.loss}")
    return (f"loss {result.loss:.3f} over {len(queries.texts)} queries, gradients in {reached}/{len(lora)} "
            f"LoRA tensors and nowhere else, {seconds:.2f} s")


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
        return f"loaded from {module.weights_dir()}, {n / 1e6:.2f}M parameters"

    return [
        _check("video I/O", _video_io),
        _check("tiny reasoner", lambda: load("reasoner", reasoners)),
        _check("tiny teacher", lambda: load("teacher", teachers)),
        _check("optimization step", lambda: _optimization_step(models["reasoner"], models["teacher"])),
    ]
