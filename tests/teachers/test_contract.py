"""What every teacher backend must do, checked on each registered one that runs without a download
(the tiny one and tiny random Qwen2.5-VL / Qwen3-VL models). `check_teacher` is also run on a
throwaway backend registered at test time (tests/test_extension.py)."""

from __future__ import annotations

import pytest
import torch

from vlmteach import teachers
from vlmteach.teachers import QuerySet

PROMPT = "Move the red ball to the green square."
CASES = [("tiny", None), ("qwen_vl_tiny", "qwen2_5_vl"), ("qwen_vl_tiny", "qwen3_vl")]


def check_teacher(t) -> None:
    frames = torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(0)).requires_grad_()
    q = t.propose_queries(frames[0].detach(), PROMPT)
    assert isinstance(q, QuerySet) and q.goal.strip() and 1 <= len(q.process) <= 3
    before = t.cost.forwards
    nll = t.yes_nll(frames, q.texts)
    assert t.cost.forwards - before == 1, "one encoding of the video for all the queries"
    assert nll.shape == (len(q.texts),) and bool(torch.isfinite(nll).all()) and bool((nll >= 0).all())
    nll.sum().backward()
    assert frames.grad is not None and float(frames.grad.abs().sum()) > 0, "the NLL must be differentiable in the frames"
    again = t.yes_nll(frames.detach(), q.texts)
    assert torch.allclose(again, nll.detach(), atol=1e-5), "judging must be deterministic"
    one = t.yes_nll(frames.detach(), q.texts[:1])
    assert torch.allclose(one, nll.detach()[:1], atol=1e-4), "a query's NLL must not depend on the others asked"


@pytest.mark.parametrize("name, spec", CASES, ids=[f"{n}:{s}" if s else n for n, s in CASES])
def test_teacher_contract(name, spec):
    check_teacher(teachers.load(name, spec))
