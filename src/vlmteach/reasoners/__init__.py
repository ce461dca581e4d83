"""The reasoner layer: video generation models behind one Reasoner interface."""

from __future__ import annotations

from pathlib import Path

from vlmteach.errors import VlmteachError
from vlmteach.paths import weights_dir
from vlmteach.reasoners.base import Reasoner, ReasonerCost

KNOWN = ("tiny", "wan", "wan_tiny")


def load(name: str = "tiny", path: str | Path | None = None) -> Reasoner:
    """A reasoner by name: "tiny" loads the shipped weights (or those in `path`); "wan" a diffusers Wan
    model from `path` = "FOLDER_OR_CACHED_ID[,key=value,...]"; "wan_tiny" a random tiny Wan for
    plumbing checks, `path` = "[KIND][,key=value,...]"."""
    if name == "tiny":
        from vlmteach.reasoners.tiny import TinyReasoner

        return TinyReasoner.load(path or weights_dir())
    if name == "wan":
        from vlmteach.reasoners.wan import WanReasoner, parse_spec

        if not path:
            raise VlmteachError("wan needs a model: wan:PATH[,key=value,...] (see docs/real-models.md)")
        folder, options = parse_spec(str(path))
        return WanReasoner.from_pretrained(folder, options)
    if name == "wan_tiny":
        from vlmteach.reasoners.wan import WanOptions
        from vlmteach.reasoners.wan_tiny import tiny_wan
        from vlmteach.specs import parse_spec_options

        kind, given = parse_spec_options(str(path or "wan2.2-ti2v"), WanOptions, "wan_tiny", "a Wan kind (wan2.1-i2v, wan2.2-ti2v)")
        return tiny_wan(kind, **given)
    raise VlmteachError(f"unknown reasoner {name!r}; known: {', '.join(KNOWN)}")


__all__ = ["Reasoner", "ReasonerCost", "load", "weights_dir"]
