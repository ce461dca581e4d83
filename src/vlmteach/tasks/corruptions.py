"""A catalog of corruptions of a ground-truth solution, the typical ways a video model breaks a task.

Used by the tests (every applicable corruption must lower the score) and as labelled negatives for
training judges. Each corruption is a pure function of the instance (and a seed where it draws).
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import torch

from vlmteach.errors import TaskError
from vlmteach.tasks.base import Instance, TaskFamily
from vlmteach.tasks.grid import render
from vlmteach.tasks.palette import BACKGROUND, OBJECT_COLOURS, PALETTE_SIZE, inner_of, outer_of
from vlmteach.video import Video

CORRUPTIONS = ("wrong_end", "vanish", "duplicate", "teleport", "recolour", "noise", "wall_cross")
NOISE_SIGMA = 0.4


def mover(instance: Instance) -> int:
    """The tile code of the main moving object: `meta["mover"]` if the family names one, else the
    most common non-background tile among the cells that the solution changes."""
    if "mover" in instance.meta:
        return int(instance.meta["mover"])
    s0, s1 = instance.states[0], instance.states[instance.solve_frame]
    changed = s0 != s1
    for candidates in (s1[changed], s0[changed]):
        counts = Counter(int(c) for c in candidates if c != BACKGROUND)
        if counts:
            return counts.most_common(1)[0][0]
    raise TaskError(f"{instance.family}: the solution moves nothing")


def _half(instance: Instance) -> int:
    return max(1, instance.solve_frame // 2)


def wrong_end(instance: Instance) -> np.ndarray:
    """The solution stops halfway and holds that state to the end."""
    s, m = instance.states.copy(), _half(instance)
    s[m:] = s[m]
    return s


def vanish(instance: Instance) -> np.ndarray:
    """The moving object disappears from the middle of the video on."""
    s, m, code = instance.states.copy(), _half(instance), mover(instance)
    under = np.where(instance.states[0] == code, BACKGROUND, instance.states[0])
    hit = s[m:] == code
    s[m:][hit] = np.broadcast_to(under, s[m:].shape)[hit]
    return s


def duplicate(instance: Instance) -> np.ndarray:
    """A second copy of the moving object appears on an always-empty cell."""
    s, m, code = instance.states.copy(), _half(instance), mover(instance)
    empty = np.argwhere((instance.states == BACKGROUND).all(axis=0))
    if len(empty) == 0:
        raise TaskError(f"{instance.family}: no empty cell to duplicate into")
    r, c = empty[len(empty) // 2]
    s[m:, r, c] = code
    return s


def teleport(instance: Instance) -> np.ndarray:
    """Nothing moves for half the video, then the final state appears at once."""
    s, m = instance.states.copy(), _half(instance)
    s[:m] = instance.states[0]
    s[m:] = instance.states[instance.solve_frame]
    return s


def recolour(instance: Instance) -> np.ndarray:
    """The moving object changes colour halfway, to a colour the instance never uses."""
    s, m, code = instance.states.copy(), _half(instance), mover(instance)
    used = set(np.unique(outer_of(instance.states))) | set(np.unique(inner_of(instance.states)))
    new = next(c for c in OBJECT_COLOURS if c not in used)
    outer, inner = int(outer_of(code)), int(inner_of(code))
    new_code = new * PALETTE_SIZE + (new if inner == outer else inner)
    s[m:][s[m:] == code] = new_code
    return s


def noise(video: Video, sigma: float = NOISE_SIGMA, seed: int = 0) -> Video:
    """Gaussian pixel noise of standard deviation `sigma`, clipped to [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    frames = video.frames + sigma * torch.randn(video.frames.shape, generator=g)
    return Video(frames.clamp(0, 1), video.fps)


_STATE_CORRUPTIONS = {
    "wrong_end": wrong_end, "vanish": vanish, "duplicate": duplicate,
    "teleport": teleport, "recolour": recolour,
}


def corrupt(family: TaskFamily, instance: Instance, name: str) -> Video:
    """The ground-truth video of `instance` broken by corruption `name` (see CORRUPTIONS)."""
    if name == "noise":
        return noise(instance.ground_truth, seed=instance.seed)
    special = family.special_corruptions(instance)
    if name in special:
        return render(special[name], instance.fps)
    if name in _STATE_CORRUPTIONS:
        return render(_STATE_CORRUPTIONS[name](instance), instance.fps)
    raise TaskError(f"unknown corruption {name!r} for {family.name}; valid: {', '.join(family.corruptions)}")
