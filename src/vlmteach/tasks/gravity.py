"""gravity: coloured blocks fall straight down, one cell per frame, onto the floor, ledges and each other."""

from __future__ import annotations

import numpy as np

from vlmteach.tasks import rules
from vlmteach.tasks.base import Episode, Instance, TaskFamily
from vlmteach.tasks.palette import BACKGROUND, OBJECT_COLOURS, WALL, colour_name, join_names, tile
from vlmteach.tasks.queries import QueryRule, no_slots

GRID = 8
FLOOR = GRID - 1  # the bottom row is the grey floor
Cell = tuple[int, int]
# difficulty -> (block count range, blocks placed above another block, ledge count range)
LEVELS = {1: ((2, 3), 0, (0, 0)), 2: ((3, 4), 1, (0, 1)), 3: ((4, 6), 2, (1, 2))}
PROMPTS = (
    "Let the blocks fall straight down until they land on the floor or on another block.",
    "Gravity is switched on: the {names} blocks drop straight down, one cell per step, until each one "
    "rests on the grey floor, on a grey ledge or on another block.",
    "Drop every coloured block vertically until it cannot fall any further; blocks stack on top of "
    "each other and stop on the grey ledges.",
    "The {names} blocks are hanging in the air. Let them fall straight down and come to rest.",
)


def travel_shares(paths: list[list[Cell | None]], limit: int) -> tuple[float, float]:
    """Motion rules of objects that may all move at once (generic: any family of several tracked
    one-cell objects). Returns the share of their total travel (Manhattan cells) made
    (a) in steps straight down (column fixed, never up), and
    (b) in transitions where no object moves more than `limit` cells, so a jump of any object
        spoils the whole transition, as changes_ok does for cell changes.
    An object missing in either frame of a transition counts one illegal cell for both shares."""
    down = gradual = total = 0
    for t in range(len(paths[0]) - 1):
        steps = [(p[t], p[t + 1]) for p in paths]
        moves = [(b[0] - a[0], b[1] - a[1]) for a, b in steps if a is not None and b is not None]
        total += len(steps) - len(moves)  # objects missing in either frame
        travel = [abs(dr) + abs(dc) for dr, dc in moves]
        total += sum(travel)
        down += sum(d for d, (dr, dc) in zip(travel, moves) if dc == 0 and dr >= 0)
        gradual += sum(travel) if max(travel, default=0) <= limit else 0
    return (down / total, gradual / total) if total else (1.0, 1.0)


def settle(walls: np.ndarray, blocks: list[Cell]) -> list[list[Cell]]:
    """Block positions per frame as they all fall together, one cell per frame, until none can move.
    Lower blocks move first, so a block resting on a falling block falls along with it."""
    frames = [list(blocks)]
    while True:
        occupied = walls.copy()
        for r, c in frames[-1]:
            occupied[r, c] = True
        now = list(frames[-1])
        for i in sorted(range(len(now)), key=lambda i: -now[i][0]):
            r, c = now[i]
            if not occupied[r + 1, c]:
                occupied[r, c], occupied[r + 1, c] = False, True
                now[i] = (r + 1, c)
        if now == frames[-1]:
            return frames
        frames.append(now)


class Gravity(TaskFamily):
    name = "gravity"
    faculty = "transformation"
    split = "in"
    summary = "blocks fall straight down onto the floor, ledges and each other"
    difficulty_range = (1, 3)
    default_difficulty = 2
    queries = QueryRule(
        (r"\bblocks?\b", r"\bfall|\bdrop", r"\bfloor\b|\brest\b|\bland\b|\bledge"), no_slots,
        ("By the end of the video, do all blocks rest on the floor, a ledge or another block?", "goal"),
        (("Do the blocks fall straight down, never sideways or up?", "falls_straight_down"),
         ("Do the blocks fall only one cell per step?", "one_cell_per_frame"),
         ("Do all blocks keep their colour, none lost or doubled?", "blocks_intact")),
        (("Do the grey floor and ledges stay unchanged?", "floor_static"),))

    def build(self, rng: np.random.Generator, difficulty: int) -> Episode | None:
        (lo, hi), stacked, (l_lo, l_hi) = LEVELS[difficulty]
        n = int(rng.integers(lo, hi + 1))
        # `stacked` blocks share a column with an earlier block, so they land on it (or on a ledge)
        columns = [int(c) for c in rng.choice(GRID, size=n - stacked, replace=False)]
        columns += [int(c) for c in rng.choice(columns, size=stacked)]
        walls = np.zeros((GRID, GRID), dtype=bool)
        walls[FLOOR] = True
        for _ in range(int(rng.integers(l_lo, l_hi + 1))):  # each ledge lies under a block's column
            row, length = int(rng.integers(3, FLOOR - 1)), int(rng.integers(1, 4))
            under = columns[int(rng.integers(len(columns)))]
            col = int(rng.integers(max(0, under - length + 1), min(under, GRID - length) + 1))
            walls[row, col:col + length] = True
        blocks: list[Cell] = []
        for col in sorted(set(columns)):
            rows = np.flatnonzero(~walls[:FLOOR - 1, col])  # never on the floor's top row: all hang
            k = columns.count(col)
            if len(rows) < k:
                return None
            blocks += [(int(r), col) for r in rng.choice(rows, size=k, replace=False)]
        blocks.sort()
        frames = settle(walls, blocks)
        final = frames[-1]
        falls = [b[0] - a[0] for a, b in zip(blocks, final)]
        if min(falls) < 1 or len(frames) - 1 < 3:  # every block hangs, and the fall takes 3+ frames
            return None

        colours = [int(c) for c in rng.choice(OBJECT_COLOURS, size=n, replace=False)]
        base = np.where(walls, WALL, BACKGROUND)
        states = []
        for cells in frames:
            s = base.copy()
            for colour, cell in zip(colours, cells):
                s[cell] = tile(colour)
            states.append(s)
        names = join_names([colour_name(c) for c in colours])
        prompt = PROMPTS[int(rng.integers(len(PROMPTS)))].format(names=names)
        meta = {"colours": colours, "starts": [list(p) for p in blocks], "settled": [list(p) for p in final],
                "mover": tile(colours[int(np.argmax(falls))])}  # the block that falls farthest
        return Episode(states, prompt, meta)

    def goal(self, final: np.ndarray, instance: Instance) -> float:
        """Share of blocks resting, intact, at their settled cell (every block hangs at first: 0)."""
        done = [final[tuple(p)] == tile(c) and (final == tile(c)).sum() == 1
                for c, p in zip(instance.meta["colours"], instance.meta["settled"])]
        return float(np.mean(done))

    def process(self, states: np.ndarray, instance: Instance) -> dict[str, float]:
        s0, colours = instance.states[0], instance.meta["colours"]
        paths = [rules.track(states, tile(c)) for c in colours]
        down, gradual = travel_shares(paths, rules.step_limit(len(states)))
        return {
            "floor_static": rules.region_static(states, s0 == WALL, s0),
            "blocks_intact": float(np.mean([rules.count_ok(states, tile(c), 1) for c in colours])),
            "falls_straight_down": down,
            "one_cell_per_frame": gradual,
        }
