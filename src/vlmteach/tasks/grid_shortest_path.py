"""grid_shortest_path: move a block around grey wall bars to a target ring by a shortest route."""

from __future__ import annotations

import numpy as np

from vlmteach.tasks import rules
from vlmteach.tasks.base import Episode, Instance, TaskFamily
from vlmteach.tasks.gridpath import distances, manhattan, shortest_path, straight_route, walk
from vlmteach.tasks.navigation import agent_rules, reach_goal
from vlmteach.tasks.palette import BACKGROUND, GREEN, OBJECT_COLOURS, WALL, colour_name, ring, tile
from vlmteach.tasks.queries import QueryRule, agent_slots

GRID = 8
# difficulty -> (number of wall bars, range of the shortest-route length in moves); at most 14
# moves, so that even every other frame of the 16 native ones still shows the arrival
LEVELS = {1: (2, (5, 9)), 2: (3, (7, 12)), 3: (4, (9, 14))}
BAR_LENGTH = (2, 5)
PROMPTS = (
    "Move the {agent} block to the {target} ring by the shortest possible route around the grey walls, one cell per frame.",
    "Find the shortest way for the {agent} block to reach the {target} ring. Walls cannot be crossed and no step may be wasted.",
    "Guide the {agent} block around the grey walls to the {target} ring using as few moves as possible.",
    "The {agent} block must reach the {target} target in the fewest steps, moving one cell at a time and never through a grey wall.",
)


def _bars(rng: np.random.Generator, count: int) -> np.ndarray:
    """A wall mask of `count` random straight bars, each horizontal or vertical."""
    walls = np.zeros((GRID, GRID), dtype=bool)
    for _ in range(count):
        length = int(rng.integers(BAR_LENGTH[0], BAR_LENGTH[1] + 1))
        line, begin = int(rng.integers(GRID)), int(rng.integers(GRID - length + 1))
        if rng.random() < 0.5:
            walls[line, begin:begin + length] = True
        else:
            walls[begin:begin + length, line] = True
    return walls


class GridShortestPath(TaskFamily):
    name = "grid_shortest_path"
    faculty = "spatiality"
    split = "ood"
    summary = "block reaches a target ring around grey wall bars by a shortest route"
    difficulty_range = (1, 3)
    default_difficulty = 2
    corruptions = TaskFamily.corruptions + ("wall_cross",)
    queries = QueryRule(
        (r"\bblock\b", r"shortest (?:possible )?(?:route|way|path)|fewest|as few moves", r"\b(?:ring|target|square)\b"),
        agent_slots("block"),
        ("By the end of the video, is the {a} block on the {t} ring?", "goal"),
        (("Does the {a} block take a shortest route, without wasted steps?", "shortest_route"),
         ("Does the {a} block stay out of the grey walls?", "walls_intact"),
         ("Does the {t} ring stay in its place until the {a} block reaches it?", "target_stays")),
        (("Does the {a} block move only one cell at a time?", "one_cell_per_frame"),
         ("Does the {a} block stay in one piece, without splitting or vanishing?", "agent_intact")))

    def build(self, rng: np.random.Generator, difficulty: int) -> Episode | None:
        count, (lo, hi) = LEVELS[difficulty]
        walls = _bars(rng, count)
        cells = np.argwhere(~walls)
        start = tuple(int(v) for v in cells[rng.integers(len(cells))])
        dist = distances(~walls, start)
        rr, cc = np.indices((GRID, GRID))
        span = np.abs(rr - start[0]) + np.abs(cc - start[1])
        # only targets the walls force a detour to: the direct route is never the answer
        far = np.argwhere((dist >= lo) & (dist <= hi) & (dist > span))
        if len(far) == 0:
            return None
        target = tuple(int(v) for v in far[rng.integers(len(far))])
        agent_colour = int(rng.choice([c for c in OBJECT_COLOURS if c != GREEN]))
        agent, goal_tile = tile(agent_colour), ring(GREEN)
        base = np.where(walls, WALL, BACKGROUND)
        base[target] = goal_tile
        states = walk(base, shortest_path(~walls, start, target, rng), agent)
        prompt = PROMPTS[int(rng.integers(len(PROMPTS)))].format(
            agent=colour_name(agent_colour), target=colour_name(GREEN))
        meta = {"agent": agent, "target_tile": goal_tile, "start": list(start), "target": list(target),
                "shortest": int(dist[target]), "mover": agent}
        return Episode(states, prompt, meta)

    def _dist(self, instance: Instance) -> np.ndarray:
        """BFS moves to the target from every cell; -1 on walls."""
        return distances(instance.states[0] != WALL, tuple(instance.meta["target"]))

    def goal(self, final: np.ndarray, instance: Instance) -> float:
        m = instance.meta
        return reach_goal(final, m["agent"], tuple(m["start"]), tuple(m["target"]), instance.states[0] != WALL)

    def _shortest_route(self, path: list[tuple[int, int] | None], dist: np.ndarray) -> float:
        """Cells moved against the BFS progress made: 1 - PENALTY per cell of difference, so a
        detour (more cells than progress) and a cut through walls (fewer) both lose."""
        seen = [p for p in path if p is not None]  # frames where the block is lost do not break the route
        if not seen or dist[seen[0]] < 0 or dist[seen[-1]] < 0:
            return 0.0
        moved = sum(manhattan(a, b) for a, b in zip(seen, seen[1:]))
        progress = int(dist[seen[0]] - dist[seen[-1]])
        return max(0.0, 1.0 - rules.PENALTY * abs(moved - progress))

    def process(self, states: np.ndarray, instance: Instance) -> dict[str, float]:
        s0 = instance.states[0]
        path, agent = agent_rules(states, instance.meta)
        return {"shortest_route": self._shortest_route(path, self._dist(instance)),
                "walls_intact": rules.region_static(states, s0 == WALL, s0), **agent}

    def special_corruptions(self, instance: Instance) -> dict[str, np.ndarray]:
        """wall_cross: the block cuts straight through the walls (crossing as few as it can)."""
        agent, start, target = instance.meta["agent"], tuple(instance.meta["start"]), tuple(instance.meta["target"])
        base = np.where(instance.states[0] == agent, BACKGROUND, instance.states[0])
        states = walk(base, straight_route(start, target, instance.states[0] == WALL, most=False), agent)
        states += [states[-1]] * (len(instance.states) - len(states))
        return {"wall_cross": np.stack(states)}
