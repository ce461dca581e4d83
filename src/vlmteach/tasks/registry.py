"""Task families by name. Each family is one module plus one line here; modules load on first use."""

from __future__ import annotations

import importlib

from vlmteach.errors import TaskError
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
_LOADED: dict[str, TaskFamily] = {}


def family_names() -> list[str]:
    """Names of all registered families, in catalog order."""
    return list(_FAMILIES)


def get_family(name: str) -> TaskFamily:
    """The family registered under `name`."""
    if name not in _FAMILIES:
        raise TaskError(f"unknown task family {name!r}; known: {', '.join(_FAMILIES)}")
    if name not in _LOADED:
        module, cls = _FAMILIES[name].split(":")
        _LOADED[name] = getattr(importlib.import_module(module), cls)()
    return _LOADED[name]


def all_families() -> list[TaskFamily]:
    return [get_family(n) for n in _FAMILIES]
