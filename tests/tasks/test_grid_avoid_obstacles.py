"""grid_avoid_obstacles: instances need a detour around the X cells, and the scorer punishes entering them."""

import numpy as np

from vlmteach.tasks.grid_avoid_obstacles import X_CELL
from vlmteach.tasks.gridpath import straight_route, walk
from vlmteach.tasks.gridpath import distances
from vlmteach.tasks.palette import BACKGROUND
from vlmteach.tasks.registry import get_family

F = get_family("grid_avoid_obstacles")


def _padded(states):
    return np.stack(states + [states[-1]] * (16 - len(states)))


def test_straight_route_maximises_or_minimises_the_crossed_cells():
    weight = np.zeros((8, 8), dtype=bool)
    weight[0, 1:4] = True  # a bar along the top row
    top = straight_route((0, 0), (3, 3), weight)
    assert top[0] == (0, 0) and top[-1] == (3, 3) and len(top) == 7
    assert sum(weight[c] for c in top) == 3
    assert sum(weight[c] for c in straight_route((0, 0), (3, 3), weight, most=False)) == 0


def test_ground_truth_avoids_x_cells_that_bar_the_direct_route():
    for d in (1, 2, 3):
        for seed in range(10):
            inst = F.generate(seed, d)
            forbidden = inst.states[0] == X_CELL
            start, target = tuple(inst.meta["start"]), tuple(inst.meta["target"])
            on_x = [(s[forbidden] == inst.meta["agent"]).any() for s in inst.states]
            assert not any(on_x)
            assert (inst.states[:, forbidden] == X_CELL).all()
            assert sum(forbidden[c] for c in straight_route(start, target, forbidden)) >= 2
            assert inst.solve_frame == distances(~forbidden, target)[start]


def test_walking_through_x_cells_loses_the_rules_but_not_the_goal():
    inst = F.generate(3, 2)
    start, target = tuple(inst.meta["start"]), tuple(inst.meta["target"])
    forbidden = inst.states[0] == X_CELL
    base = np.where(inst.states[0] == inst.meta["agent"], BACKGROUND, inst.states[0])
    straight = F.score_states(_padded(walk(base, straight_route(start, target, forbidden), inst.meta["agent"])), inst)
    gt = F.score_states(inst.states, inst)
    assert straight.parts["goal"] == 1.0
    assert straight.parts["never_on_x"] <= 0.5 and straight.parts["x_cells_intact"] <= 0.5
    assert straight.total < gt.total - 0.05


def test_stopping_short_gets_partial_credit_below_half():
    inst = F.generate(5, 3)
    half = F.score_states(_padded(list(inst.states[: inst.solve_frame - 1])), inst)
    assert 0.0 < half.parts["goal"] < 0.5
    assert half.parts["never_on_x"] == 1.0
