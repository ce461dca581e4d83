"""grid_shortest_path: the scorer prefers the shortest route to a valid detour or a cut through walls."""

import numpy as np

from vlmteach.tasks.corruptions import corrupt
from vlmteach.tasks.grid import read_states
from vlmteach.tasks.grid_avoid_obstacles import walk
from vlmteach.tasks.gridpath import STEPS, distances, manhattan, shortest_path
from vlmteach.tasks.palette import BACKGROUND, WALL
from vlmteach.tasks.registry import get_family

F = get_family("grid_shortest_path")


def _padded(states):
    return np.stack(states + [states[-1]] * (16 - len(states)))


def _detour(inst):
    """A legal route two moves longer than the shortest: first a step away from the target, then a
    shortest route from there."""
    open_mask = inst.states[0] != WALL
    start, target = tuple(inst.meta["start"]), tuple(inst.meta["target"])
    dist = distances(open_mask, target)
    around = [(start[0] + dr, start[1] + dc) for dr, dc in STEPS]
    away = next(c for c in around if 0 <= c[0] < 8 and 0 <= c[1] < 8 and dist[c] == dist[start] + 1)
    base = np.where(inst.states[0] == inst.meta["agent"], BACKGROUND, inst.states[0])
    return walk(base, [start] + shortest_path(open_mask, away, target), inst.meta["agent"])


def test_instances_need_a_detour_and_the_ground_truth_is_shortest():
    for d in (1, 2, 3):
        for seed in range(10):
            inst = F.generate(seed, d)
            start, target = tuple(inst.meta["start"]), tuple(inst.meta["target"])
            assert inst.solve_frame == inst.meta["shortest"] > manhattan(start, target)
            assert F.score_states(inst.states, inst).parts["shortest_route"] == 1.0


def test_valid_longer_detour_scores_lower_than_the_ground_truth():
    inst = next(i for i in (F.generate(s, 2) for s in range(20)) if i.meta["shortest"] <= 12)
    states = _detour(inst)
    assert len(states) == inst.meta["shortest"] + 3
    detour = F.score_states(_padded(states), inst)
    gt = F.score_states(inst.states, inst)
    assert detour.parts["goal"] == 1.0 and detour.parts["walls_intact"] == 1.0
    assert detour.parts["one_cell_per_frame"] == 1.0
    assert detour.parts["shortest_route"] == 0.5
    assert detour.total < gt.total - 0.02


def test_cutting_through_walls_loses_walls_and_shortest_route():
    inst = F.generate(2, 3)
    cut = F.score_states(read_states(corrupt(F, inst, "wall_cross"), inst.grid), inst)
    assert cut.parts["goal"] == 1.0
    assert cut.parts["walls_intact"] < 1.0 and cut.parts["shortest_route"] <= 0.5
