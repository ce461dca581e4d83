"""gravity: stacks fall together onto ledges, and the scorer wants straight, one-cell-per-frame falls."""

import numpy as np

from vlmteach.tasks.base import NATIVE_FRAMES, Instance
from vlmteach.tasks.gravity import settle
from vlmteach.tasks.palette import BACKGROUND, BLUE, RED, WALL, tile
from vlmteach.tasks.registry import get_family

F = get_family("gravity")


def _walls():
    walls = np.zeros((8, 8), dtype=bool)
    walls[7] = True
    walls[4, 2] = True  # a one-cell ledge
    return walls


def _states(walls, frames):
    out = []
    for cells in frames:
        s = np.where(walls, WALL, BACKGROUND)
        for colour, cell in zip((RED, BLUE), cells):
            s[cell] = tile(colour)
        out.append(s)
    return np.stack(out + [out[-1]] * (NATIVE_FRAMES - len(out)))


def _instance():
    walls = _walls()
    frames = settle(walls, [(0, 5), (1, 2)])
    meta = {"colours": [RED, BLUE], "starts": [[0, 5], [1, 2]], "settled": [list(p) for p in frames[-1]],
            "mover": tile(RED)}
    return Instance("gravity", 0, 1, "in", "transformation", "", _states(walls, frames), meta), walls, frames


def test_settle_drops_stacks_together_onto_ledges_and_the_floor():
    walls = _walls()
    frames = settle(walls, [(0, 2), (1, 2), (5, 2), (3, 6)])
    # the pair above the ledge falls as one and stops on it; the block under the ledge reaches the floor
    assert frames[-1] == [(2, 2), (3, 2), (6, 2), (6, 6)]
    assert frames[1] == [(1, 2), (2, 2), (6, 2), (4, 6)]
    assert len(frames) == 4


def test_sliding_sideways_or_bouncing_up_breaks_falls_straight_down():
    inst, walls, frames = _instance()
    gt = F.score_states(inst.states, inst)
    assert gt.total >= 0.99
    # red drifts one column right on its way down, landing beside its settled cell
    drift = [[(r, 5 if r < 3 else 6), blue] for (r, _), blue in frames]
    bad = F.score_states(_states(walls, drift), inst)
    assert bad.parts["falls_straight_down"] < 1.0 and bad.parts["goal"] == 0.5
    # both land right, then red bounces up a cell and back: the goal is met, the motion is not
    bounce = frames + [[(5, 5), frames[-1][1]], frames[-1]]
    bad = F.score_states(_states(walls, bounce), inst)
    assert bad.parts["goal"] == 1.0 and bad.parts["falls_straight_down"] < 1.0
    assert bad.total < gt.total


def test_falling_two_cells_per_frame_is_illegal_at_the_native_rate_only():
    inst, _, _ = _instance()
    fast = inst.states[: inst.solve_frame + 1 : 2]  # red falls 6 cells: frames 0, 2, 4, 6
    assert np.array_equal(fast[-1], inst.states[-1])
    held = np.concatenate([fast, np.repeat(fast[-1:], NATIVE_FRAMES - len(fast), 0)])
    assert F.score_states(held, inst).parts["one_cell_per_frame"] < 0.5
    assert F.score_states(inst.states[::2], inst).parts["one_cell_per_frame"] == 1.0
