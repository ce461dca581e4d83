"""maze: move a ball through a maze of grey walls to a target square, one cell per frame."""

from __future__ import annotations

import numpy as np

from vlmteach.tasks import rules
from vlmteach.tasks.base import Episode, Instance, TaskFamily
from vlmteach.tasks.gridpath import distances, random_maze, shortest_path, walk
from vlmteach.tasks.navigation import agent_rules, reach_goal
from vlmteach.tasks.palette import BACKGROUND, GREEN, OBJECT_COLOURS, WALL, colour_name, ring, tile
from vlmteach.tasks.queries import QueryRule, agent_slots

GRID = 8
# difficulty -> (maze rooms per side, shortest-path length range in moves)
LEVELS = {1: (3, (3, 8)), 2: (4, (5, 11)), 3: (4, (9, 15))}
PROMPTS = (
    "Move the {agent} ball through the maze to the {target} square without passing through the grey walls.",
    "Guide the {agent} ball along the open corridors until it reaches the {target} square; walls cannot be crossed.",
    "The {agent} ball must find its way through the maze to the {target} target. Move it one cell at a time and never enter a wall.",
    "Navigate the {agent} ball to the {target} square, staying inside the maze's corridors.",
)


class Maze(TaskFamily):
    name = "maze"
    faculty = "spatiality"
    split = "in"
    summary = "ball walks a maze to a target square"
    difficulty_range = (1, 3)
    default_difficulty = 2
    corruptions = TaskFamily.corruptions + ("wall_cross",)
    queries = QueryRule(
        (r"\bball\b", r"\bmaze|\bcorridors?\b|\bwalls?\b", r"\bsquare\b|\btarget\b"), agent_slots("ball"),
        ("By the end of the video, is the {a} ball on the {t} square?", "goal"),
        (("Does the {a} ball stay out of the grey walls?", "walls_intact"),
         ("Does the {t} square stay in its place until the {a} ball reaches it?", "target_stays"),
         ("Does the {a} ball stay in one piece, without splitting or vanishing?", "agent_intact")),
        (("Does the {a} ball move only one cell at a time?", "one_cell_per_frame"),))

    def build(self, rng: np.random.Generator, difficulty: int) -> Episode | None:
        rooms, (lo, hi) = LEVELS[difficulty]
        maze = random_maze(rng, (rooms, rooms))
        size = maze.shape[0]
        off = tuple(int(v) for v in rng.integers(0, GRID - size + 1, size=2))
        open_mask = np.zeros((GRID, GRID), dtype=bool)
        open_mask[off[0]:off[0] + size, off[1]:off[1] + size] = maze
        cells = np.argwhere(open_mask)
        start = tuple(int(v) for v in cells[rng.integers(len(cells))])
        dist = distances(open_mask, start)
        far = np.argwhere((dist >= lo) & (dist <= hi))
        if len(far) == 0:
            return None
        target = tuple(int(v) for v in far[rng.integers(len(far))])
        agent_colour = int(rng.choice([c for c in OBJECT_COLOURS if c != GREEN]))
        agent, goal_tile = tile(agent_colour), ring(GREEN)

        base = np.where(open_mask, BACKGROUND, WALL)
        base[target] = goal_tile
        states = walk(base, shortest_path(open_mask, start, target, rng), agent)
        prompt = PROMPTS[int(rng.integers(len(PROMPTS)))].format(
            agent=colour_name(agent_colour), target=colour_name(GREEN))
        meta = {"agent": agent, "target_tile": goal_tile, "start": list(start), "target": list(target),
                "mover": agent}
        return Episode(states, prompt, meta)

    def goal(self, final: np.ndarray, instance: Instance) -> float:
        m = instance.meta
        return reach_goal(final, m["agent"], tuple(m["start"]), tuple(m["target"]), instance.states[0] != WALL)

    def process(self, states: np.ndarray, instance: Instance) -> dict[str, float]:
        s0 = instance.states[0]
        _, agent = agent_rules(states, instance.meta)
        return {"walls_intact": rules.region_static(states, s0 == WALL, s0), **agent}

    def special_corruptions(self, instance: Instance) -> dict[str, np.ndarray]:
        """wall_cross: halfway, the ball steps into a wall cell next to its path for one frame."""
        s, agent = instance.states.copy(), instance.meta["agent"]
        walls = instance.states[0] == WALL
        for t in range(1, instance.solve_frame):
            r, c = np.argwhere(s[t] == agent)[0]
            for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1)):
                nr, nc = r + dr, c + dc
                if 0 <= nr < GRID and 0 <= nc < GRID and walls[nr, nc]:
                    s[t, r, c], s[t, nr, nc] = instance.states[0][r, c], agent
                    if s[t, r, c] == agent:
                        s[t, r, c] = BACKGROUND
                    return {"wall_cross": s}
        return {}
