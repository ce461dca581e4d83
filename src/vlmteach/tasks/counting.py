"""counting: count the rings of one colour and put as many white tokens into a tray, left to right."""

from __future__ import annotations

import numpy as np

from vlmteach.tasks import rules
from vlmteach.tasks.base import Episode, Instance, TaskFamily
from vlmteach.tasks.palette import BACKGROUND, DARK_GREY, OBJECT_COLOURS, WHITE, colour_name, ring
from vlmteach.tasks.queries import QueryRule, colour_before

GRID = 8
SCENE_ROWS = 6  # objects lie in rows 0..5; row 6 stays empty to set the tray apart
TRAY_ROW = GRID - 1
# hollow dark grey slots; a token is a white square inside a slot, so adjacent tokens stay countable
SLOT, TOKEN = ring(DARK_GREY), ring(DARK_GREY, WHITE)
# difficulty -> (range of the count, range of distractor rings, number of distractor colours)
LEVELS = {1: ((3, 4), (0, 0), 0), 2: ((4, 6), (2, 3), 1), 3: ((5, 7), (3, 5), 2)}
PROMPTS = (
    "Count the {colour} rings and place one white token in the tray for each of them.",
    "Put as many white tokens into the dark grey tray at the bottom as there are {colour} rings, "
    "filling it from the left, one token at a time.",
    "How many {colour} rings are there? Answer by filling that many slots of the bottom tray with "
    "white tokens, left to right.",
    "For every {colour} ring in the picture, add one white token to the tray, starting at its left end.",
)


def _slots(prompt: str) -> dict[str, str]:
    """{c} the colour of the rings to count."""
    return {"c": colour_before("(?:rings?|circles?)", prompt)}


class Counting(TaskFamily):
    name = "counting"
    faculty = "perception"
    split = "ood"
    summary = "fill a tray with one token per ring of a named colour"
    difficulty_range = (1, 3)
    default_difficulty = 2
    queries = QueryRule(
        (r"\btokens?\b", r"\btray\b", r"\brings?\b"), _slots,
        ("By the end of the video, does the tray hold one token for each {c} ring?", "goal"),
        (("Is only one token added at each step?", "one_token_per_frame"),
         ("Are the tokens placed from the left without gaps?", "left_to_right"),
         ("Does the scene above the tray stay unchanged?", "scene_static")),
        (("Does the tray hold only empty slots and tokens?", "tray_intact"),))

    def build(self, rng: np.random.Generator, difficulty: int) -> Episode | None:
        (lo, hi), (d_lo, d_hi), n_colours = LEVELS[difficulty]
        n = int(rng.integers(lo, hi + 1))
        n_distract = int(rng.integers(d_lo, d_hi + 1))
        colours = [int(c) for c in rng.choice(OBJECT_COLOURS, 1 + n_colours, replace=False)]
        target = colours[0]
        s = np.full((GRID, GRID), BACKGROUND)
        picks = rng.choice(SCENE_ROWS * GRID, n + n_distract, replace=False)
        rows, cols = np.divmod(picks, GRID)
        s[rows[:n], cols[:n]] = ring(target)
        if n_distract:
            others = rng.choice(colours[1:], n_distract)  # rings in the other colours
            s[rows[n:], cols[n:]] = [ring(int(c)) for c in others]
        s[TRAY_ROW] = SLOT
        states = [s.copy()]
        for i in range(n):  # one token per frame, from the left end
            s[TRAY_ROW, i] = TOKEN
            states.append(s.copy())
        prompt = PROMPTS[int(rng.integers(len(PROMPTS)))].format(colour=colour_name(target))
        meta = {"count": n, "target": ring(target), "mover": TOKEN}
        return Episode(states, prompt, meta)

    def goal(self, final: np.ndarray, instance: Instance) -> float:
        n, tray = instance.meta["count"], final[TRAY_ROW]
        if not np.isin(tray, (SLOT, TOKEN)).all():  # the tray itself is broken
            return 0.0
        tokens = tray == TOKEN
        k = int(tokens.sum())
        packed = bool(tokens[:k].all())  # the tokens fill the tray from the left
        if k == n:
            return 1.0 if packed else 0.5
        # a wrong count: progress credit below half, and overshooting costs as much as falling short
        credit = 0.5 * (k / n if k < n else max(0.0, 1.0 - (k - n) / n))
        return credit if packed else 0.5 * credit

    def process(self, states: np.ndarray, instance: Instance) -> dict[str, float]:
        scene = np.zeros(instance.grid, dtype=bool)
        scene[:TRAY_ROW] = True
        tray = states[:, TRAY_ROW]
        tokens = tray == TOKEN
        k = tokens.sum(axis=1)
        # the tokens in every frame form a prefix of the tray: placed left to right without gaps
        packed = tokens == (np.arange(tray.shape[1]) < k[:, None])
        return {
            "scene_static": rules.region_static(states, scene, instance.states[0]),
            "tray_intact": rules.frame_rule(np.isin(tray, (SLOT, TOKEN)).all(axis=1)),
            "one_token_per_frame": rules.changes_ok(states, rules.step_limit(len(states))),
            "left_to_right": rules.frame_rule(packed.all(axis=1)),
        }
