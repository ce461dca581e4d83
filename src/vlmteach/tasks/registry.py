"""Task families by name. Each family is one module plus one line here; modules load on first use."""

from __future__ import annotations

import json
from pathlib import Path

from vlmteach.errors import TaskError
from vlmteach.registry import Registry
from vlmteach.tasks.base import TaskFamily

_FAMILIES: dict[str, str] = {
    "maze": "vlmteach.tasks.maze:Maze",
    "grid_avoid_obstacles": "vlmteach.tasks.grid_avoid_obstacles:GridAvoidObstacles",
    "grid_shortest_path": "vlmteach.tasks.grid_shortest_path:GridShortestPath",
    "sliding_puzzle": "vlmteach.tasks.sliding_puzzle:SlidingPuzzle",
    "key_door": "vlmteach.tasks.key_door:KeyDoor",
    "color_addition": "vlmteach.tasks.color_addition:ColorAddition",
    "object_to_marker": "vlmteach.tasks.object_to_marker:ObjectToMarker",
    "gravity": "vlmteach.tasks.gravity:Gravity",
    "rotation": "vlmteach.tasks.rotation:Rotation",
    "stable_sort": "vlmteach.tasks.stable_sort:StableSort",
    "symmetry_completion": "vlmteach.tasks.symmetry_completion:SymmetryCompletion",
    "light_sequence": "vlmteach.tasks.light_sequence:LightSequence",
    "counting": "vlmteach.tasks.counting:Counting",
}
_REGISTRY = Registry("task family", _FAMILIES, TaskError)
_LOADED: dict[str, TaskFamily] = {}


def family_names() -> list[str]:
    """Names of all registered families, in catalog order."""
    return _REGISTRY.names()


def get_family(name: str) -> TaskFamily:
    """The family registered under `name`."""
    if name not in _LOADED:
        _LOADED[name] = _REGISTRY.get(name)()
    return _LOADED[name]


def all_families() -> list[TaskFamily]:
    return [get_family(n) for n in _REGISTRY.names()]


def register(family: type[TaskFamily]) -> TaskFamily:
    """Register a family class defined outside this package (a plugin, a test) under its `name`, after
    the built-in ones, and return its instance. (`vlmteach tasks list` reads the catalog file, which
    lists the built-in families.)"""
    if not (isinstance(family, type) and issubclass(family, TaskFamily)):
        raise TaskError(f"register takes a TaskFamily subclass, got {family!r}")
    if family.name in _REGISTRY:
        raise TaskError(f"a task family named {family.name!r} is already registered ({_REGISTRY.targets[family.name]})")
    _REGISTRY.register(family.name, f"{family.__module__}:{family.__qualname__}")
    _LOADED[family.name] = family()
    return _LOADED[family.name]


# `vlmteach tasks list` reads this file instead of importing the families (and torch with them), so that
# it answers at once; tests/tasks/test_catalog.py fails when it is stale.
CATALOG_FILE = Path(__file__).with_name("catalog.json")


def catalog() -> list[dict]:
    """One record per family (name, faculty, split, difficulty range and default, summary)."""
    return [{"name": f.name, "faculty": f.faculty, "split": f.split,
             "difficulty": {"min": f.difficulty_range[0], "max": f.difficulty_range[1],
                            "default": f.default_difficulty}, "summary": f.summary}
            for f in all_families()]


def write_catalog(path: Path = CATALOG_FILE) -> Path:
    """Refresh the catalog file after adding or changing a family:
    `python -c "from vlmteach.tasks.registry import write_catalog; write_catalog()"`."""
    path.write_text(json.dumps(catalog(), indent=1) + "\n")
    return path
