"""Near misses of a ground-truth solution: videos that differ from it in one small, telling way.

A judge that only tells a task's ground truth from a blatant corruption can still be blind to the
difference between two attempts at the same instance, which is what best-of-N and test-time
optimization rely on. These edits are the hard negatives of that comparison, family-agnostic:
- `one_short`: the last change of the solution never happens (the ball one cell short of the target,
  one swap left undone, one lamp too few);
- `one_extra`: the solution is complete, then one more cell changes to a tile of the instance (one
  lamp too many, a stray block);
- `flicker`: one object cell goes blank for a single frame halfway (a brief break of a process rule);
- `stall`: the solution pauses for two frames halfway and finishes two frames late (the same goal, the
  same rules: a near miss that is *not* a miss, so a judge must not punish it).
Each is a pure function of the instance; the ones that draw use the instance seed.
"""

from __future__ import annotations

import numpy as np

from vlmteach.tasks.base import Instance
from vlmteach.tasks.grid import render
from vlmteach.video import Video

NEAR_MISSES = ("one_short", "one_extra", "flicker", "stall")


def _rng(instance: Instance, salt: int) -> np.random.Generator:
    return np.random.default_rng([instance.seed, instance.difficulty, salt])


def one_short(instance: Instance) -> np.ndarray | None:
    """The state before the solution's last change, held to the end."""
    s, end = instance.states.copy(), instance.solve_frame
    if end < 2:
        return None
    s[end - 1:] = s[end - 1]
    return s


def one_extra(instance: Instance) -> np.ndarray | None:
    """After the solution is complete, one cell that never changes takes another tile of the instance."""
    s, end = instance.states.copy(), instance.solve_frame
    if end >= len(s) - 1:
        return None
    rng = _rng(instance, 1)
    still = np.argwhere((instance.states == instance.states[0]).all(axis=0))
    tiles = np.unique(instance.states)
    if len(still) == 0 or len(tiles) < 2:
        return None
    r, c = still[rng.integers(len(still))]
    choices = tiles[tiles != s[0, r, c]]
    s[end + 1:, r, c] = choices[rng.integers(len(choices))]
    return s


def flicker(instance: Instance) -> np.ndarray | None:
    """One cell of a moving object takes the first frame's background for one frame halfway."""
    s, end = instance.states.copy(), instance.solve_frame
    t = max(1, end // 2)
    changed = np.argwhere(instance.states[t] != instance.states[0])
    if len(changed) == 0:
        return None
    r, c = changed[_rng(instance, 2).integers(len(changed))]
    s[t, r, c] = instance.states[0, r, c]
    return s


def stall(instance: Instance) -> np.ndarray | None:
    """The solution holds its halfway state for two extra frames, then finishes late; needs room."""
    end = instance.solve_frame
    if end + 2 > len(instance.states) - 1 or end < 2:
        return None
    t = end // 2
    s = np.concatenate([instance.states[:t + 1], instance.states[t:t + 1], instance.states[t:t + 1],
                        instance.states[t + 1:]])
    return s[:len(instance.states)]


_EDITS = {"one_short": one_short, "one_extra": one_extra, "flicker": flicker, "stall": stall}


def near_miss_states(instance: Instance, name: str) -> np.ndarray | None:
    """The edited states (T, H, W), or None when the edit does not apply to this instance."""
    if name not in _EDITS:
        raise ValueError(f"unknown near miss {name!r}; valid: {', '.join(NEAR_MISSES)}")
    return _EDITS[name](instance)


def near_misses(instance: Instance) -> dict[str, Video]:
    """Every near miss that applies to the instance, rendered, by name."""
    out = {}
    for name in NEAR_MISSES:
        states = near_miss_states(instance, name)
        if states is not None:
            out[name] = render(states, instance.fps)
    return out
