"""object_to_marker: move each coloured square onto the star marker of its colour, one at a time."""

from __future__ import annotations

import numpy as np

from vlmteach.tasks import rules
from vlmteach.tasks.base import Episode, Instance, TaskFamily
from vlmteach.tasks.gridpath import shortest_path
from vlmteach.tasks.palette import BACKGROUND, OBJECT_COLOURS, colour_name, join_names, ring, tile
from vlmteach.tasks.queries import QueryRule, no_slots

GRID = 8
MAX_MOVES = 14  # one move per frame; 14 keeps the last move in a video sampled every other frame
# difficulty -> (number of objects, Manhattan distance range from an object to its marker)
LEVELS = {1: (2, (2, 4)), 2: (3, (2, 4)), 3: (3, (3, 5))}
PROMPTS = (
    "Move each coloured object onto the star of its colour.",
    "Slide the {names} squares onto the hollow stars of the same colour. Move one square at a time, "
    "one cell per step.",
    "Each square belongs on the star of its own colour: move the {names} squares there one after "
    "another, never stepping onto a star of another colour.",
    "Put every coloured square on its matching star ({names}); only one square moves per step.",
)


class ObjectToMarker(TaskFamily):
    name = "object_to_marker"
    faculty = "transformation"
    split = "in"
    summary = "move each coloured square onto the star of its colour, one at a time"
    difficulty_range = (1, 3)
    default_difficulty = 2
    queries = QueryRule(
        (r"\bsquares?\b|\bobjects?\b", r"\bstars?\b", r"\bcolou?rs?\b|\bmatching\b"), no_slots,
        ("By the end of the video, is every square on the star of its own colour?", "goal"),
        (("Does only one square move at a time?", "one_object_at_a_time"),
         ("Does each square keep its colour, without splitting or vanishing?", "objects_intact"),
         ("Do the squares keep off the stars of other colours?", "markers_stay")),
        (("Does each square move only one cell at a time?", "one_cell_per_frame"),))

    def build(self, rng: np.random.Generator, difficulty: int) -> Episode | None:
        n, (lo, hi) = LEVELS[difficulty]
        colours = [int(c) for c in rng.choice(OBJECT_COLOURS, size=n, replace=False)]
        taken = np.zeros((GRID, GRID), dtype=bool)
        starts, markers = [], []
        for _ in colours:
            free = np.argwhere(~taken)
            start = tuple(int(v) for v in free[rng.integers(len(free))])
            taken[start] = True
            free = np.argwhere(~taken)
            dist = np.abs(free - start).sum(axis=1)
            near = free[(dist >= lo) & (dist <= hi)]
            if len(near) == 0:
                return None
            marker = tuple(int(v) for v in near[rng.integers(len(near))])
            taken[marker] = True
            starts.append(start)
            markers.append(marker)

        base = np.full((GRID, GRID), BACKGROUND)
        for colour, marker in zip(colours, markers):
            base[marker] = ring(colour)
        where = list(starts)
        s = base.copy()
        for colour, start in zip(colours, starts):
            s[start] = tile(colour)
        states = [s.copy()]
        order = [int(i) for i in rng.permutation(n)]
        for i in order:
            # blocked: the other objects where they stand now, and every star of another colour
            blocked = np.zeros((GRID, GRID), dtype=bool)
            for j in range(n):
                if j != i:
                    blocked[where[j]] = blocked[markers[j]] = True
            path = shortest_path(~blocked, where[i], markers[i], rng)
            if path is None:
                return None
            for a, b in zip(path, path[1:]):
                s[a], s[b] = base[a], tile(colours[i])
                states.append(s.copy())
            where[i] = markers[i]
        if not 3 <= len(states) - 1 <= MAX_MOVES:
            return None

        names = join_names([colour_name(c) for c in colours])
        prompt = PROMPTS[int(rng.integers(len(PROMPTS)))].format(names=names)
        meta = {"colours": colours, "starts": [list(p) for p in starts],
                "markers": [list(p) for p in markers], "order": order, "mover": tile(colours[order[0]])}
        return Episode(states, prompt, meta)

    def goal(self, final: np.ndarray, instance: Instance) -> float:
        """Share of objects resting, intact and alone, on their own marker (0 in the first frame)."""
        done = [final[tuple(m)] == tile(c) and (final == tile(c)).sum() == 1
                for c, m in zip(instance.meta["colours"], instance.meta["markers"])]
        return float(np.mean(done))

    def process(self, states: np.ndarray, instance: Instance) -> dict[str, float]:
        colours, markers = instance.meta["colours"], [tuple(m) for m in instance.meta["markers"]]
        limit = rules.step_limit(len(states))
        # a marker cell shows its own star or its own object: never another object, never nothing
        on_markers = [np.isin(states[:, r, c], (ring(col), tile(col)))
                      for col, (r, c) in zip(colours, markers)]
        return {
            "objects_intact": float(np.mean([rules.count_ok(states, tile(c), 1) for c in colours])),
            "markers_stay": rules.frame_rule(np.all(on_markers, axis=0)),
            "one_cell_per_frame": float(np.mean([rules.moves_ok(rules.track(states, tile(c)), limit)
                                                 for c in colours])),
            # one object moves per step: a move changes two cells (the cell left and the cell entered)
            "one_object_at_a_time": rules.changes_ok(states, 2 * limit),
        }
