"""Fixtures of the Wan tests (test_wan.py, test_wan_reference.py); test_tiny.py defines its own `model`."""

import pytest

from vlmteach.reasoners.wan import KINDS, WanReasoner
from vlmteach.reasoners.wan_tiny import tiny_wan


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module", params=KINDS)
def model(request) -> WanReasoner:
    """A tiny random Wan reasoner of each kind."""
    return tiny_wan(request.param)
