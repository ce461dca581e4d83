"""grid_avoid_obstacles: move a block across an open grid to a target ring without entering any red X cell."""

from __future__ import annotations

import numpy as np

from vlmteach.tasks import rules
from vlmteach.tasks.base import Episode, Instance, TaskFamily
from vlmteach.tasks.gridpath import Cell, distances, shortest_path, straight_route, walk
from vlmteach.tasks.navigation import agent_rules, reach_goal
from vlmteach.tasks.palette import (BACKGROUND, DARK_GREY, GREEN, OBJECT_COLOURS, RED, colour_name,
                                    ring, tile)
from vlmteach.tasks.queries import QueryRule, agent_slots

GRID = 8
X_CELL = tile(RED, DARK_GREY)  # a red ring around a dark centre: unlike the target ring and the agent
MAX_MOVES = 14  # fits the 16 native frames, and every other frame of them still shows the arrival
MIN_CROSSED = 2  # X cells the most direct obstacle-ignoring route crosses at least
# difficulty -> (range of the number of X cells, range of the start-target Manhattan distance)
LEVELS = {1: ((4, 6), (4, 7)), 2: ((7, 10), (6, 10)), 3: ((11, 14), (8, 12))}
PROMPTS = (
    "Move the {agent} block to the {target} ring one cell at a time, without ever stepping on the red X cells.",
    "Guide the {agent} block to the {target} target. The red X cells are forbidden: go around them.",
    "The {agent} block must reach the {target} ring. Step one cell per frame and never enter a red X cell.",
    "Bring the {agent} block onto the {target} ring, avoiding every red X cell on the way.",
)


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
    queries = QueryRule(
        (r"\bblock\b", r"\bred x cells?\b"), agent_slots("block"),
        ("By the end of the video, is the {a} block on the {t} ring?", "goal"),
        (("Does the {a} block avoid every red X cell?", "never_on_x"),
         ("Does the {t} ring stay in its place until the {a} block reaches it?", "target_stays"),
         ("Do the red X cells stay unchanged?", "x_cells_intact")),
        (("Does the {a} block stay in one piece, without splitting or vanishing?", "agent_intact"),
         ("Does the {a} block move only one cell at a time?", "one_cell_per_frame")))

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
        m = instance.meta  # ending on an X cell is off the open cells: no credit
        return reach_goal(final, m["agent"], tuple(m["start"]), tuple(m["target"]), ~self._forbidden(instance))

    def process(self, states: np.ndarray, instance: Instance) -> dict[str, float]:
        s0 = instance.states[0]
        forbidden = self._forbidden(instance)
        path, agent = agent_rules(states, instance.meta)
        return {"never_on_x": rules.never_on(path, forbidden),
                "x_cells_intact": rules.region_static(states, forbidden, s0), **agent}

    def special_corruptions(self, instance: Instance) -> dict[str, np.ndarray]:
        """wall_cross: the block takes the direct route, straight across the X cells in its way."""
        agent, start, target = instance.meta["agent"], tuple(instance.meta["start"]), tuple(instance.meta["target"])
        base = np.where(instance.states[0] == agent, BACKGROUND, instance.states[0])
        states = walk(base, straight_route(start, target, self._forbidden(instance)), agent)
        states += [states[-1]] * (len(instance.states) - len(states))
        return {"wall_cross": np.stack(states)}

