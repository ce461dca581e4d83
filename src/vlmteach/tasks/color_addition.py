"""color_addition: slide two coloured blocks together along a row until they merge into their mixture."""

from __future__ import annotations

import numpy as np

from vlmteach.tasks import rules
from vlmteach.tasks.base import Episode, Instance, TaskFamily
from vlmteach.tasks.palette import (
    BACKGROUND, BLUE, GREEN, ORANGE, PINK, PURPLE, RED, WHITE, YELLOW, colour_name, tile)
from vlmteach.tasks.queries import QueryRule, colours_in

GRID = 8
# (colour, colour, their mixture) as in paint mixing; the prompt names the first two only
MIXES = ((RED, BLUE, PURPLE), (RED, YELLOW, ORANGE), (BLUE, YELLOW, GREEN), (RED, WHITE, PINK))
MIXABLE = (RED, BLUE, YELLOW, WHITE, PURPLE, ORANGE, GREEN, PINK)  # distractors come from these
# difficulty -> (range of empty cells between the blocks, number of distractor blocks)
LEVELS = {1: ((2, 3), 0), 2: ((3, 5), 1), 3: ((5, 6), 2)}
PROMPTS = (
    "Slide the {a} block and the {b} block together so that they mix into one block; show the colour "
    "they make.",
    "Move the {a} and {b} blocks towards each other along their row, one cell at a time, until they "
    "merge into a single block of the colour you get by mixing them.",
    "Mix the {a} block with the {b} block: push them together and replace them with one block of the "
    "resulting colour. Leave everything else where it is.",
    "The {a} block and the {b} block slide along their row until they meet and blend into one block. "
    "What colour is it?",
)

MIX_NAMES = {frozenset({colour_name(a), colour_name(b)}): colour_name(m) for a, b, m in MIXES}


def _slots(prompt: str) -> dict[str, str]:
    """{a} and {b} the two blocks' colours, {m} their mixture's."""
    a, b = (colours_in(prompt) + ["coloured", "coloured"])[:2]  # the prompt names exactly the two blocks
    return {"a": a, "b": b, "m": MIX_NAMES.get(frozenset({a, b}), "mixed")}


class ColorAddition(TaskFamily):
    name = "color_addition"
    faculty = "knowledge"
    split = "in"
    summary = "two coloured blocks slide together and merge into their mixed colour"
    difficulty_range = (1, 3)
    default_difficulty = 2
    queries = QueryRule(
        (r"\bblocks?\b", r"\bmix|\bblend", r"\bcolou?r\b|\bmerge|\bone block"), _slots,
        ("By the end of the video, have the {a} and {b} blocks merged into one {m} block?", "goal"),
        (("Do the blocks slide only one cell at a time?", "one_cell_per_frame"),
         ("Does everything else stay where it is?", "rest_static"),
         ("Are there two separate blocks until they merge, and one block after?", "blocks_consistent")),
        words=("mixed",))

    def build(self, rng: np.random.Generator, difficulty: int) -> Episode | None:
        (lo, hi), n_distract = LEVELS[difficulty]
        a, b, mix = MIXES[int(rng.integers(len(MIXES)))]
        if rng.random() < 0.5:
            a, b = b, a
        gap = int(rng.integers(lo, hi + 1))
        row, c1 = int(rng.integers(GRID)), int(rng.integers(0, GRID - gap - 1))
        c2 = c1 + gap + 1
        s = np.full((GRID, GRID), BACKGROUND)
        s[row, c1], s[row, c2] = tile(a), tile(b)
        if n_distract:
            # distractors in unused mixable colours (e.g. the third primary), not touching the segment
            # so that they never look like part of a sliding block
            cells = np.argwhere(np.ones((GRID, GRID), dtype=bool))
            outside = cells[(abs(cells[:, 0] - row) > 1) | (cells[:, 1] < c1 - 1) | (cells[:, 1] > c2 + 1)]
            spots = outside[rng.choice(len(outside), n_distract, replace=False)]
            colours = rng.choice([c for c in MIXABLE if c not in (a, b, mix)], n_distract, replace=False)
            s[tuple(spots.T)] = [tile(int(c)) for c in colours]
        states = [s.copy()]
        pos, turn = [c1, c2], int(rng.integers(2))
        while pos[1] - pos[0] > 1:  # the blocks take turns, one cell per frame
            s[row, pos[turn]] = BACKGROUND
            pos[turn] += 1 if turn == 0 else -1
            s[row, pos[turn]] = tile(b if turn else a)
            states.append(s.copy())
            turn ^= 1
        # the block whose turn it is moves onto the other one: they merge where the other one stands
        s[row, pos[turn]], s[row, pos[1 - turn]] = BACKGROUND, tile(mix)
        states.append(s)
        names = {"a": colour_name(a), "b": colour_name(b)}
        if rng.random() < 0.5:
            names = {"a": names["b"], "b": names["a"]}
        prompt = PROMPTS[int(rng.integers(len(PROMPTS)))].format(**names)
        meta = {"row": row, "cols": [c1, c2], "gap": gap, "left": tile(a), "right": tile(b),
                "mix": tile(mix), "mover": tile(a)}
        return Episode(states, prompt, meta)

    def _segment(self, instance: Instance) -> np.ndarray:
        """Mask of the row cells from one block's start to the other's: where the blocks may be."""
        mask = np.zeros(instance.grid, dtype=bool)
        c1, c2 = instance.meta["cols"]
        mask[instance.meta["row"], c1:c2 + 1] = True
        return mask

    def goal(self, final: np.ndarray, instance: Instance) -> float:
        m = instance.meta
        seg = self._segment(instance)
        blocks = (m["left"], m["right"], m["mix"])
        if np.isin(final[~seg], blocks).any():  # a block (or a mixture) left its row segment
            return 0.0
        cells = final[seg]
        where = np.nonzero(cells != BACKGROUND)[0]
        if len(where) == 1 and cells[where[0]] == m["mix"]:
            return 1.0
        if len(where) == 2 and cells[where[0]] == m["left"] and cells[where[1]] == m["right"]:
            # not mixed yet: credit for closing the gap, at most 0.5 when the blocks touch
            return 0.5 * (1.0 - (where[1] - where[0] - 1) / m["gap"])
        return 0.0  # wrong colour, extra blocks or blocks lost

    def process(self, states: np.ndarray, instance: Instance) -> dict[str, float]:
        m = instance.meta
        seg = self._segment(instance)
        cells = states[:, seg]
        occupied = (cells != BACKGROUND).sum(axis=1)
        n_left, n_right, n_mix = ((cells == m[k]).sum(axis=1) for k in ("left", "right", "mix"))
        left_first = np.argmax(cells == m["left"], axis=1) < np.argmax(cells == m["right"], axis=1)
        apart = (n_left == 1) & (n_right == 1) & (occupied == 2) & left_first
        merged = (n_mix == 1) & (occupied == 1)
        # two blocks in order until the merge, then one block of the mixture that never splits again
        consistent = merged | (apart & ~np.maximum.accumulate(merged))
        limit = rules.step_limit(len(states))
        mix_path = rules.track(states, m["mix"])
        # each block's path continues as the merged block's position once it has merged
        paths = [[p if p is not None else q for p, q in zip(rules.track(states, m[k]), mix_path)]
                 for k in ("left", "right")]
        return {
            "rest_static": rules.region_static(states, ~seg, instance.states[0]),
            "blocks_consistent": rules.frame_rule(consistent),
            "one_cell_per_frame": min(rules.moves_ok(p, limit) for p in paths),
        }
