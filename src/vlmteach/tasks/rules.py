"""Process-rule checks shared by the families, each a value in [0, 1].

Frame rules (an object intact, a region static) cost PENALTY per violating frame, counted at the
native frame rate, so a brief glitch costs a quarter of the rule and a lasting break all of it.
Motion rules measure the share of the motion made in legal steps, so a teleport scores zero."""

from __future__ import annotations

import math

import numpy as np

from vlmteach.tasks.base import NATIVE_FRAMES

PENALTY = 0.25


def step_limit(num_frames: int, native: int = NATIVE_FRAMES) -> int:
    """Cells an object may move between consecutive frames: 1 at the native frame count, more when
    a video has fewer frames than the native solution needs."""
    return max(1, math.ceil((native - 1) / max(1, num_frames - 1)))


def frame_rule(ok: np.ndarray) -> float:
    """Score of a per-frame rule from a boolean array (T,): 1 - PENALTY per violating frame, where
    violations are rescaled to the native frame count so long videos are not punished more."""
    ok = np.asarray(ok, dtype=bool)
    bad = (~ok).sum() * NATIVE_FRAMES / max(len(ok), 1)
    return float(max(0.0, 1.0 - PENALTY * bad))


def positions(states: np.ndarray, code: int) -> list[np.ndarray]:
    """Per frame, the (N, 2) cell coordinates holding tile `code`."""
    return [np.argwhere(frame == code) for frame in states]


def count_ok(states: np.ndarray, code: int, count: int) -> float:
    """Frame rule: exactly `count` cells of tile `code` (the object stays intact, not split or lost)."""
    return frame_rule((states == code).sum(axis=(1, 2)) == count)


def region_static(states: np.ndarray, mask: np.ndarray, expected: np.ndarray) -> float:
    """Frame rule: the cells under `mask` (H, W) equal `expected` (H, W)."""
    if not mask.any():
        return 1.0
    return frame_rule((states[:, mask] == expected[mask]).all(axis=1))


def track(states: np.ndarray, code: int) -> list[tuple[int, int] | None]:
    """Position of a one-cell object per frame, None where it is missing or not unique."""
    out: list[tuple[int, int] | None] = []
    for p in positions(states, code):
        out.append((int(p[0, 0]), int(p[0, 1])) if len(p) == 1 else None)
    return out


def moves_ok(path: list[tuple[int, int] | None], limit: int = 1) -> float:
    """Motion rule: share of a tracked object's travel (Manhattan cells) made in steps of at most
    `limit` cells. A transition with the object missing in either frame counts one illegal cell."""
    legal = total = 0
    for a, b in zip(path, path[1:]):
        if a is None or b is None:
            total += 1
            continue
        d = abs(a[0] - b[0]) + abs(a[1] - b[1])
        total += d
        legal += d if d <= limit else 0
    return legal / total if total else 1.0


def changes_ok(states: np.ndarray, limit: int) -> float:
    """Motion rule: share of all cell changes made in transitions that change at most `limit` cells
    (the solution unfolds gradually, one step at a time)."""
    changed = (states[1:] != states[:-1]).sum(axis=(1, 2))
    total = changed.sum()
    return float(changed[changed <= limit].sum() / total) if total else 1.0


def never_on(path: list[tuple[int, int] | None], forbidden: np.ndarray) -> float:
    """Frame rule: a tracked object is not on a forbidden cell (mask (H, W))."""
    return frame_rule([p is None or not forbidden[p] for p in path])
