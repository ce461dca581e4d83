"""The reasoner layer: video generation models behind one Reasoner interface."""

from __future__ import annotations

from pathlib import Path

from vlmteach.errors import VlmteachError
from vlmteach.reasoners.base import Reasoner, ReasonerCost


def weights_dir() -> Path:
    """The folder of the shipped tiny-world weights inside the package."""
    return Path(__file__).resolve().parent.parent / "weights"


def load(name: str = "tiny", path: str | Path | None = None) -> Reasoner:
    """A reasoner by name: "tiny" loads the shipped weights (or those in `path`)."""
    if name == "tiny":
        from vlmteach.reasoners.tiny import TinyReasoner

        return TinyReasoner.load(path or weights_dir())
    raise VlmteachError(f"unknown reasoner {name!r}; known: tiny")


__all__ = ["Reasoner", "ReasonerCost", "load", "weights_dir"]
