"""grid_avoid_obstacles: move a block across an open grid to a target ring without entering any red X cell."""

from __future__ import annotations

import numpy as np

from vlmteach.tasks import rules
from vlmteach.tasks.base import Episode, Instance, TaskFamily
from vlmteach.tasks.gridpath import Cell, distances, shortest_path
from vlmteach.tasks.palette import (BACKGROUND, DARK_GREY, GREEN, OBJECT_COLOURS, RED, colour_name,
                                    ring, tile)

GRID = 8
X_CELL = tile(RED, DARK_GREY)  # a red ring around a dark centre: unlike the target ring and the agent
MAX_MOVES = 15  # the solution must fit the 16 native frames
MIN_CROSSED = 2  # X cells the most direct obstacle-ignoring route crosses at least
# difficulty -> (range of the number of X cells, range of the start-target Manhattan distance)
LEVELS = {1: ((4, 6), (4, 7)), 2: ((7, 10), (6, 10)), 3: ((11, 14), (8, 12))}
PROMPTS = (
    "Move the {agent} block to the {target} ring one cell at a time, without ever stepping on the red X cells.",
    "Guide the {agent} block to the {target} target. The red X cells are forbidden: go around them.",
    "The {agent} block must reach the {target} ring. Step one cell per frame and never enter a red X cell.",
    "Bring the {agent} block onto the {target} square, avoiding every red X cell on the way.",
)


def straight_route(start: Cell, goal: Cell, weight: np.ndarray, most: bool = True) -> list[Cell]:
    """A shortest route that ignores obstacles (monotone, Manhattan length) from start to goal,
    crossing the most (or, with most=False, the fewest) cells where the boolean `weight` is set:
    the route a solver takes when it ignores the obstacles, used to check and corrupt the tasks."""
    sr, sc = (1 if goal[0] >= start[0] else -1), (1 if goal[1] >= start[1] else -1)
    rows = start[0] + sr * np.arange(abs(goal[0] - start[0]) + 1)
    cols = start[1] + sc * np.arange(abs(goal[1] - start[1]) + 1)
    gain = weight[np.ix_(rows, cols)].astype(np.int64) * (1 if most else -1)
    best = gain.copy()
    best[0, 1:] += np.cumsum(gain[0, :-1])
    best[1:, 0] += np.cumsum(gain[:-1, 0])
    for i in range(1, len(rows)):
        for j in range(1, len(cols)):
            best[i, j] += max(best[i - 1, j], best[i, j - 1])
    i, j = len(rows) - 1, len(cols) - 1
    route = [(int(rows[i]), int(cols[j]))]
    while i or j:  # walk back along the better predecessor
        if j == 0 or (i > 0 and best[i - 1, j] >= best[i, j - 1]):
            i -= 1
        else:
            j -= 1
        route.append((int(rows[i]), int(cols[j])))
    return route[::-1]


def walk(base: np.ndarray, route: list[Cell], code: int) -> list[np.ndarray]:
    """One state per route cell: `base` with the one-cell object `code` drawn on that cell."""
    states = []
    for cell in route:
        s = base.copy()
        s[cell] = code
        states.append(s)
    return states


def _l_routes(start: Cell, goal: Cell) -> list[list[Cell]]:
    """The cells strictly between start and goal on the two L-shaped routes (row first, column first)."""
    (r0, c0), (r1, c1) = start, goal
    rs = list(range(r0, r1 + 1) if r1 >= r0 else range(r0, r1 - 1, -1))
    cs = list(range(c0, c1 + 1) if c1 >= c0 else range(c0, c1 - 1, -1))
    down_first = [(r, c0) for r in rs] + [(r1, c) for c in cs[1:]]
    across_first = [(r0, c) for c in cs] + [(r, c1) for r in rs[1:]]
    return [down_first[1:-1], across_first[1:-1]]


class GridAvoidObstacles(TaskFamily):
    name = "grid_avoid_obstacles"
    faculty = "spatiality"
    split = "in"
    summary = "block reaches a target ring on an open grid without entering red X cells"
    difficulty_range = (1, 3)
    default_difficulty = 2
    corruptions = TaskFamily.corruptions + ("wall_cross",)

    def build(self, rng: np.random.Generator, difficulty: int) -> Episode | None:
        (x_lo, x_hi), (m_lo, m_hi) = LEVELS[difficulty]
        start = (int(rng.integers(GRID)), int(rng.integers(GRID)))
        rr, cc = np.indices((GRID, GRID))
        span = np.abs(rr - start[0]) + np.abs(cc - start[1])
        far = np.argwhere((span >= m_lo) & (span <= m_hi))
        if len(far) == 0:
            return None
        target = tuple(int(v) for v in far[rng.integers(len(far))])

        # Block both L-shaped routes, then scatter the rest, three times as densely inside the
        # start-target rectangle, so that the direct way is mostly barred and a detour is needed.
        forbidden = np.zeros((GRID, GRID), dtype=bool)
        for route in _l_routes(start, target):
            forbidden[route[int(rng.integers(len(route)))]] = True
        box = ((rr - start[0]) * (rr - target[0]) <= 0) & ((cc - start[1]) * (cc - target[1]) <= 0)
        free = ~forbidden
        free[start] = free[target] = False
        weight = np.where(box, 3.0, 1.0)[free]
        extra = int(rng.integers(x_lo, x_hi + 1)) - int(forbidden.sum())
        cells = np.argwhere(free)[rng.choice(int(free.sum()), extra, replace=False, p=weight / weight.sum())]
        forbidden[tuple(cells.T)] = True

        dist = distances(~forbidden, target)
        if not 0 < dist[start] <= MAX_MOVES:
            return None
        if forbidden[tuple(np.array(straight_route(start, target, forbidden)).T)].sum() < MIN_CROSSED:
            return None
        agent_colour = int(rng.choice([c for c in OBJECT_COLOURS if c not in (RED, GREEN)]))
        agent, goal_tile = tile(agent_colour), ring(GREEN)
        base = np.where(forbidden, X_CELL, BACKGROUND)
        base[target] = goal_tile
        states = walk(base, shortest_path(~forbidden, start, target, rng), agent)
        prompt = PROMPTS[int(rng.integers(len(PROMPTS)))].format(
            agent=colour_name(agent_colour), target=colour_name(GREEN))
        meta = {"agent": agent, "target_tile": goal_tile, "start": list(start), "target": list(target),
                "mover": agent}
        return Episode(states, prompt, meta)

    def _forbidden(self, instance: Instance) -> np.ndarray:
        return instance.states[0] == X_CELL

    def goal(self, final: np.ndarray, instance: Instance) -> float:
        agent, target, start = instance.meta["agent"], tuple(instance.meta["target"]), tuple(instance.meta["start"])
        where = np.argwhere(final == agent)
        if len(where) != 1:
            return 0.0
        pos = tuple(int(v) for v in where[0])
        if pos == target:
            return 1.0
        dist = distances(~self._forbidden(instance), target)
        if dist[pos] < 0:  # ended on an X cell
            return 0.0
        # partial credit for progress along the allowed cells, capped well below success
        return 0.5 * max(0.0, 1.0 - dist[pos] / dist[start])

    def process(self, states: np.ndarray, instance: Instance) -> dict[str, float]:
        agent, target = instance.meta["agent"], tuple(instance.meta["target"])
        s0 = instance.states[0]
        forbidden = self._forbidden(instance)
        path = rules.track(states, agent)
        target_ok = rules.frame_rule([f[target] in (agent, instance.meta["target_tile"]) for f in states])
        return {
            "never_on_x": rules.never_on(path, forbidden),
            "x_cells_intact": rules.region_static(states, forbidden, s0),
            "agent_intact": rules.count_ok(states, agent, 1),
            "one_cell_per_frame": rules.moves_ok(path, rules.step_limit(len(states))),
            "target_stays": target_ok,
        }

    def special_corruptions(self, instance: Instance) -> dict[str, np.ndarray]:
        """wall_cross: the block takes the direct route, straight across the X cells in its way."""
        agent, start, target = instance.meta["agent"], tuple(instance.meta["start"]), tuple(instance.meta["target"])
        base = np.where(instance.states[0] == agent, BACKGROUND, instance.states[0])
        states = walk(base, straight_route(start, target, self._forbidden(instance)), agent)
        states += [states[-1]] * (len(instance.states) - len(states))
        return {"wall_cross": np.stack(states)}

