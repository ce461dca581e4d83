"""The teacher layer: vision-language judges behind one Teacher interface."""

from __future__ import annotations

from pathlib import Path

from vlmteach.errors import VlmteachError
from vlmteach.teachers.base import QuerySet, Teacher, TeacherCost
from vlmteach.teachers.rulebook import generic_queries


def weights_dir() -> Path:
    """The folder of the shipped tiny-world weights inside the package."""
    return Path(__file__).resolve().parent.parent / "weights"


def load(name: str = "tiny", path: str | Path | None = None) -> Teacher:
    """A teacher by name: "tiny" loads the shipped weights (or those in `path`)."""
    if name == "tiny":
        from vlmteach.teachers.tiny import TinyTeacher

        return TinyTeacher.load(path or weights_dir())
    raise VlmteachError(f"unknown teacher {name!r}; known: tiny")


__all__ = ["QuerySet", "Teacher", "TeacherCost", "generic_queries", "load", "weights_dir"]
