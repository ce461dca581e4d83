"""What every registered method must do, checked on the stub models (tests/methods/conftest.py):
the same problem gives the same video, the cost is recorded, the trace can be stored as JSON, and
progress stays within the total the method announces. `check_method` is also run on a throwaway
method registered at test time (tests/test_extension.py)."""

from __future__ import annotations

import json

import pytest
import torch

from vlmteach.methods import Problem, make_method, method_names
from vlmteach.video import Video

from .conftest import StubReasoner, StubTeacher


def check_method(name: str, options: dict[str, str] | None = None) -> None:
    def run():
        method = make_method(name, options)
        reasoner, teacher = StubReasoner(), StubTeacher(critiques=["too dark"])
        problem = Problem(torch.full((3, 2, 2), 0.2), "p", 11,
                          scorer=(lambda v: float(v.frames.mean())) if method.needs_scorer() else None,
                          reference=Video(torch.ones(6, 3, 2, 2)) if method.needs_reference() else None,
                          budget_s=60.0 if method.needs_budget() else None)
        calls = []
        result = method.run(reasoner, teacher, problem, lambda step, value: calls.append(step))
        return method, result, calls

    method, a, calls = run()
    _, b, _ = run()
    assert torch.equal(a.video.frames, b.video.frames), f"{name}: the same problem must give the same video"
    assert a.cost.wall_s > 0 and a.cost.reasoner_forwards > 0, f"{name}: the cost must be recorded"
    assert isinstance(a.steps, int) and a.steps >= 0
    json.dumps(a.trace)  # bench stores the trace in results.jsonl
    total = method.progress_total(StubReasoner())
    if total is not None:
        assert len(calls) <= total + 1, f"{name}: {len(calls)} progress calls for a total of {total}"
    assert method.progress_unit in ("sample", "step")


@pytest.mark.parametrize("name", method_names())
def test_method_contract(name):
    check_method(name)
