"""object_to_marker: the scorer checks own-colour stars, one object at a time, and the generator's paths."""

import numpy as np

from vlmteach.tasks.base import NATIVE_FRAMES, Instance
from vlmteach.tasks.palette import BACKGROUND, BLUE, RED, ring, tile
from vlmteach.tasks.registry import get_family

F = get_family("object_to_marker")
# red square (0,0) -> red star (0,4); blue square (5,5) -> blue star (0,2), right on red's straight path
COLOURS, STARTS, MARKERS = [RED, BLUE], [(0, 0), (5, 5)], [(0, 4), (0, 2)]


def _frame(red, blue):
    s = np.full((8, 8), BACKGROUND)
    for colour, marker in zip(COLOURS, MARKERS):
        s[marker] = ring(colour)
    s[red], s[blue] = tile(RED), tile(BLUE)
    return s


def _pad(frames):
    return np.stack(frames + [frames[-1]] * (NATIVE_FRAMES - len(frames)))


def _instance():
    red = [(0, 0), (1, 0), (1, 1), (1, 2), (1, 3), (1, 4), (0, 4)]  # detour below the blue star
    blue = [(5, 5), (4, 5), (3, 5), (2, 5), (2, 4), (2, 3), (2, 2), (1, 2), (0, 2)]
    frames = [_frame(r, STARTS[1]) for r in red] + [_frame(MARKERS[0], b) for b in blue[1:]]
    meta = {"colours": COLOURS, "starts": [list(p) for p in STARTS], "markers": [list(p) for p in MARKERS],
            "order": [0, 1], "mover": tile(RED)}
    return Instance("object_to_marker", 0, 1, "in", "transformation", "", _pad(frames), meta), red, blue


def test_crossing_a_star_of_another_colour_breaks_markers_stay():
    inst, _, blue = _instance()
    gt = F.score_states(inst.states, inst)
    straight = [(0, c) for c in range(5)]  # red walks over the blue star at (0, 2)
    frames = [_frame(r, STARTS[1]) for r in straight] + [_frame(MARKERS[0], b) for b in blue[1:]]
    bad = F.score_states(_pad(frames), inst)
    assert gt.parts["markers_stay"] == 1.0 and gt.total >= 0.99
    assert bad.parts["goal"] == 1.0 and bad.parts["markers_stay"] < 1.0
    assert bad.total < gt.total


def test_moving_two_objects_at_once_breaks_one_object_at_a_time():
    inst, red, blue = _instance()
    n = max(len(red), len(blue))
    together = [_frame(red[min(t, len(red) - 1)], blue[min(t, len(blue) - 1)]) for t in range(n)]
    bad = F.score_states(_pad(together), inst)
    assert bad.parts["goal"] == 1.0 and bad.parts["one_cell_per_frame"] == 1.0
    assert bad.parts["one_object_at_a_time"] < 0.5


def test_goal_counts_objects_on_their_own_star_only():
    inst, _, _ = _instance()
    swapped = _frame(MARKERS[1], MARKERS[0])  # red on the blue star and blue on the red star
    one_right = _frame(MARKERS[0], (5, 5))
    assert F.goal(swapped, inst) == 0.0
    assert F.goal(one_right, inst) == 0.5
    assert F.goal(inst.states[-1], inst) == 1.0


def test_generated_solutions_move_one_object_one_cell_and_avoid_foreign_stars():
    for d in (1, 2, 3):
        for seed in range(30):
            inst = F.generate(seed, d)
            s = inst.states[: inst.solve_frame + 1]
            assert ((s[1:] != s[:-1]).sum(axis=(1, 2)) == 2).all()
            parts = F.score_states(inst.states, inst).parts
            assert parts["markers_stay"] == 1.0 and parts["goal"] == 1.0
            assert len(inst.meta["colours"]) == (2 if d == 1 else 3)
