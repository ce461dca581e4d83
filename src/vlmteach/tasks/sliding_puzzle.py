"""sliding_puzzle: slide coloured tiles into the gap of a framed board until it shows a described order."""

from __future__ import annotations

import re

import numpy as np

from vlmteach.tasks import rules
from vlmteach.tasks.base import Episode, Instance, TaskFamily
from vlmteach.tasks.gridpath import STEPS
from vlmteach.tasks.palette import BACKGROUND, OBJECT_COLOURS, WALL, colour_name, outer_of, tile
from vlmteach.tasks.queries import QueryRule

GRID = 8
GAP = BACKGROUND
# difficulty -> (board shapes in rows x columns, range of scrambling slides); at most 14 slides, so
# that even every other frame of the 16 native ones still shows the solved board
LEVELS = {1: (((2, 3), (3, 2)), (3, 6)), 2: (((2, 3), (3, 2), (3, 3)), (6, 10)), 3: (((3, 3),), (10, 14))}
ROW_NAMES = {2: ("top", "bottom"), 3: ("top", "middle", "bottom")}
PROMPTS = (
    "Slide the tiles inside the grey frame, one at a time into the empty slot, so that the colours read {rows}.",
    "Solve the sliding puzzle: move one tile per step into the gap until the board shows {rows}.",
    "Rearrange the coloured tiles by sliding them into the empty space, one slide per frame. When done, the board reads {rows}.",
    "Put the sliding puzzle in order so that, from left to right, it reads {rows}. Only a tile next to the gap may slide into it.",
)


def _describe(solved: np.ndarray) -> str:
    """The solved board in words, row by row from left to right: "red, blue in the top row and ..."."""
    names = ROW_NAMES[solved.shape[0]]
    parts = [", ".join("the gap" if t == GAP else colour_name(int(outer_of(t))) for t in row) + f" in the {name} row"
             for row, name in zip(solved, names)]
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def _slide(board: tuple[int, ...], gap: int, to: int) -> tuple[int, ...]:
    """The board (flat tuple) after the tile at `to` slides into the gap at `gap`."""
    cells = list(board)
    cells[gap], cells[to] = cells[to], GAP
    return tuple(cells)


def _neighbours(shape: tuple[int, int]) -> list[list[int]]:
    """Flat indices of the 4-neighbours of every flat board index."""
    h, w = shape
    return [[(r + dr) * w + c + dc for dr, dc in STEPS if 0 <= r + dr < h and 0 <= c + dc < w]
            for r in range(h) for c in range(w)]


def within_slides(a: np.ndarray, b: np.ndarray, limit: int) -> bool:
    """Whether board `b` follows from board `a` by at most `limit` slides of a tile into the single
    gap: a breadth-first search over the boards `a` reaches, so tile swaps or jumps never pass."""
    start, goal = tuple(int(v) for v in a.ravel()), tuple(int(v) for v in b.ravel())
    if start == goal:
        return True
    if start.count(GAP) != 1 or sorted(start) != sorted(goal):
        return False
    nbrs = _neighbours(a.shape)
    frontier, seen = [start], {start}
    for _ in range(limit):
        nxt = []
        for board in frontier:
            gap = board.index(GAP)
            for to in nbrs[gap]:
                new = _slide(board, gap, to)
                if new == goal:
                    return True
                if new not in seen:
                    seen.add(new)
                    nxt.append(new)
        frontier = nxt
    return False


def _slots(prompt: str) -> dict[str, str]:
    """{rows} the solved board as the prompt describes it."""
    m = re.search(r"(?:reads?|shows) (.+? in the bottom row|.+? in the top row)", prompt.lower())
    return {"rows": m.group(1) if m else "the described order"}


class SlidingPuzzle(TaskFamily):
    name = "sliding_puzzle"
    faculty = "spatiality"
    split = "in"
    summary = "sliding-tile puzzle in a grey frame, solved one slide per frame to a described order"
    difficulty_range = (1, 3)
    default_difficulty = 2
    queries = QueryRule(
        (r"puzzle|\btiles?\b", r"\bthe gap\b|\bempty (?:slot|space)", r"\b(?:top|middle|bottom) row\b"), _slots,
        ("By the end of the video, does the board read {rows}?", "goal"),
        (("Does only one tile slide into the gap at each step?", "one_slide_per_frame"),
         ("Do all the tiles keep their colours, none lost or doubled?", "tiles_intact"),
         ("Does everything outside the board stay unchanged?", "frame_static")),
        # the words of {rows} besides colours; _slots' fallback never occurs in a generated prompt
        words=("the gap", "in the top row", "in the middle row", "in the bottom row"))

    def build(self, rng: np.random.Generator, difficulty: int) -> Episode | None:
        shapes, (lo, hi) = LEVELS[difficulty]
        shape = shapes[int(rng.integers(len(shapes)))]
        size = shape[0] * shape[1]
        colours = rng.choice(OBJECT_COLOURS, size - 1, replace=False)
        gap = int(rng.integers(size))
        solved = tuple(int(v) for v in np.insert([tile(int(c)) for c in colours], gap, GAP))

        # scramble by a random walk of the gap that never undoes its last slide
        nbrs = _neighbours(shape)
        boards, moved, prev = [solved], [], -1
        for _ in range(int(rng.integers(lo, hi + 1))):
            options = [n for n in nbrs[gap] if n != prev]
            to = options[int(rng.integers(len(options)))]
            moved.append(boards[-1][to])
            boards.append(_slide(boards[-1], gap, to))
            prev, gap = gap, to
        if solved in boards[1:]:  # a walk back to the solved board gives a solution that solves it early
            return None

        off = rng.integers(0, GRID - np.array(shape) - 2, endpoint=True)  # the frame adds a cell each side
        frame = np.full((GRID, GRID), BACKGROUND)
        frame[off[0]:off[0] + shape[0] + 2, off[1]:off[1] + shape[1] + 2] = WALL
        states = []
        for board in boards[::-1]:  # the solution plays the scramble backwards
            s = frame.copy()
            s[off[0] + 1:off[0] + 1 + shape[0], off[1] + 1:off[1] + 1 + shape[1]] = np.reshape(board, shape)
            states.append(s)
        # the tile that slides most often is the main mover (ties: the first of them to slide in the solution)
        counts = {t: moved.count(t) for t in moved[::-1]}
        prompt = PROMPTS[int(rng.integers(len(PROMPTS)))].format(
            rows=_describe(np.reshape(solved, shape)))
        meta = {"board": [int(off[0]) + 1, int(off[1]) + 1, shape[0], shape[1]], "solved": list(solved),
                "mover": max(counts, key=counts.get)}
        return Episode(states, prompt, meta)

    def _board(self, states: np.ndarray, instance: Instance) -> np.ndarray:
        """The board cells (..., rows, cols) of grid state(s), without the frame."""
        r, c, h, w = instance.meta["board"]
        return states[..., r:r + h, c:c + w]

    def _in_place(self, board: np.ndarray, instance: Instance) -> int:
        solved = np.reshape(instance.meta["solved"], board.shape)
        return int(((board == solved) & (solved != GAP)).sum())

    def goal(self, final: np.ndarray, instance: Instance) -> float:
        tiles = len(instance.meta["solved"]) - 1
        before = self._in_place(self._board(instance.states[0], instance), instance)
        after = self._in_place(self._board(final, instance), instance)
        # progress in tiles put in place, so the scrambled board scores 0 and the solved board 1
        return float(max(0.0, (after - before) / (tiles - before)))

    def _slides_ok(self, boards: np.ndarray, limit: int) -> float:
        """Motion rule: share of the changed board cells changed in transitions that are at most
        `limit` legal slides into the gap (a slide changes two cells, so `limit` slides at most
        limit + 1: larger changes are rejected before any search)."""
        changed = (boards[1:] != boards[:-1]).sum(axis=(1, 2))
        legal = 0
        for t in np.nonzero(changed)[0]:
            if changed[t] <= limit + 1 and within_slides(boards[t], boards[t + 1], limit):
                legal += changed[t]
        return float(legal / changed.sum()) if changed.sum() else 1.0

    def process(self, states: np.ndarray, instance: Instance) -> dict[str, float]:
        mask = np.zeros(instance.grid, dtype=bool)
        r, c, h, w = instance.meta["board"]
        mask[r:r + h, c:c + w] = True
        tiles = np.array([t for t in instance.meta["solved"] if t != GAP])
        counts = (states[:, None] == tiles[None, :, None, None]).sum(axis=(2, 3))
        return {
            "tiles_intact": rules.frame_rule((counts == 1).all(axis=1)),
            "frame_static": rules.region_static(states, ~mask, instance.states[0]),
            "one_slide_per_frame": self._slides_ok(self._board(states, instance), rules.step_limit(len(states))),
        }
