import os

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _torch_state() -> dict:
    return {"threads": torch.get_num_threads(), "default dtype": torch.get_default_dtype(),
            "grad enabled": torch.is_grad_enabled()}


@pytest.fixture(autouse=True)
def torch_state_is_not_leaked():
    """Fail any test after which torch's global state (thread count, default dtype, grad mode) differs:
    whatever runs next would otherwise run under it, and results would depend on test order."""
    before = _torch_state()
    yield
    after = _torch_state()
    if after != before:
        torch.set_num_threads(before["threads"])
        torch.set_default_dtype(before["default dtype"])
        torch.set_grad_enabled(before["grad enabled"])
        changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
        pytest.fail(f"the test left torch's global state changed (before, after): {changed}")


@pytest.fixture
def one_thread():
    """Runs are bit-reproducible on the CPU at one thread (README, Reproducibility); set it for the
    test and restore it after."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def judged_frame_counts(monkeypatch):
    """watch(teacher) -> a list that receives the frame count of every yes_nll call on that teacher."""

    def watch(teacher) -> list[int]:
        seen: list[int] = []
        nll = teacher.yes_nll

        def spy(frames, queries):
            seen.append(frames.shape[0])
            return nll(frames, queries)

        monkeypatch.setattr(teacher, "yes_nll", spy)
        return seen

    return watch
