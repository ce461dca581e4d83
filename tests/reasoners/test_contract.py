"""What every reasoner backend must do, checked on each registered one that runs without a download
(the tiny one and tiny random Wan models of both kinds). `check_reasoner` is also run on a throwaway
backend registered at test time (tests/test_extension.py)."""

from __future__ import annotations

import pytest
import torch

from vlmteach import reasoners

PROMPT = "Move the red ball to the green square."
# (backend, spec): every registered backend that needs no weights from outside the package
CASES = [("tiny", None), ("wan_tiny", "wan2.1-i2v"), ("wan_tiny", "wan2.2-ti2v")]


def check_reasoner(r) -> None:
    image = torch.rand(3, 32, 32, generator=torch.Generator().manual_seed(0))
    cond = r.condition(image, PROMPT)
    z1 = r.noise(5)
    assert torch.equal(z1, r.noise(5)) and not torch.equal(z1, r.noise(6)), "noise must be a function of the seed"
    with torch.no_grad():
        base = r.sample(z1, cond, 2)
        assert torch.equal(base, r.sample(z1, cond, 2)), "sampling must be deterministic"
        assert r.one_step(z1, cond).shape == base.shape, "one-step and few-step predictions share a shape"
        video = r.decode(base).frames
        light = r.decode_light(base)
    assert video.ndim == 4 and video.shape[1] == 3 and float(video.min()) >= 0 and float(video.max()) <= 1
    assert light.ndim == 4 and light.shape[1] == 3
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        r.add_lora(4)
    try:
        params = r.lora_parameters()
        assert params and all(p.requires_grad for p in params)
        with torch.no_grad():
            assert torch.allclose(r.sample(z1, cond, 2), base, atol=1e-6), "a fresh LoRA must leave the model as it was"
        r.decode_light(r.one_step(z1, cond)).mean().backward()
        lora_ids = {id(p) for p in params}
        assert any(p.grad is not None and float(p.grad.abs().sum()) > 0 for p in params), "gradients must reach the LoRA"
        others = [p for p in r.lora_module().parameters() if id(p) not in lora_ids]
        assert others and all(p.grad is None and not p.requires_grad for p in others), "only the LoRA may train"
        with torch.no_grad():
            for p in params:
                p.normal_(std=0.5)
            assert not torch.allclose(r.sample(z1, cond, 2), base, atol=1e-4), "a trained LoRA changes the sample"
        r.reset_lora()
        with torch.no_grad():
            assert torch.allclose(r.sample(z1, cond, 2), base, atol=1e-6), "reset must restore the base model"
    finally:
        r.drop_lora()
    assert r.lora_parameters() == []
    with torch.no_grad():
        assert torch.allclose(r.sample(z1, cond, 2), base, atol=1e-6), "drop must restore the base model"


@pytest.mark.parametrize("name, spec", CASES, ids=[f"{n}:{s}" if s else n for n, s in CASES])
def test_reasoner_contract(name, spec):
    check_reasoner(reasoners.load(name, spec))
