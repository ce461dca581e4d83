"""light_sequence: switch a row of lights so that exactly the leftmost or rightmost k are on."""

from __future__ import annotations

import re

import numpy as np

from vlmteach.tasks import rules
from vlmteach.tasks.base import Episode, Instance, TaskFamily
from vlmteach.tasks.palette import BACKGROUND, DARK_GREY, YELLOW, tile
from vlmteach.tasks.queries import QueryRule

GRID = 8
OFF, ON = tile(DARK_GREY), tile(YELLOW)
LEVELS = {1: (4, 5), 2: (6, 7), 3: (8, 8)}  # difficulty -> range of the number of lights
NUMBERS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight")
PROMPTS = (
    "Turn on the {side}most {k} {lights} and turn off every other light, one light at a time.",
    "Switch the lights so that only the {k} {lights} on the {side} end {are} lit (yellow); the rest must be dark.",
    "Make exactly the {side}most {k} {lamps} glow yellow. Change one lamp per step, going from left to right.",
)


def _slots(prompt: str) -> dict[str, str]:
    """{side} and {k}: which end and how many lights (a number word); {lights} the noun's number."""
    m = re.search(r"(left|right)most (\w+)|(\w+) lights? on the (left|right) end", prompt.lower())
    side, k = (m.group(1), m.group(2)) if m and m.group(1) else ((m.group(4), m.group(3)) if m else ("right", "some"))
    return {"side": side, "k": k, "lights": "light" if k == "one" else "lights"}


class LightSequence(TaskFamily):
    name = "light_sequence"
    faculty = "perception"
    split = "in"
    summary = "light exactly the leftmost/rightmost k lamps of a row"
    difficulty_range = (1, 3)
    default_difficulty = 2
    queries = QueryRule(
        (r"\blights?\b|\blamps?\b", r"\b(?:left|right)most\b|\b(?:left|right) end\b"), _slots,
        ("By the end of the video, are exactly the {side}most {k} {lights} on?", "goal"),
        (("Does only one light change at each step?", "one_switch_per_frame"),
         ("Does every light stay a light, either yellow or dark?", "lights_intact"),
         ("Does everything apart from the lights stay unchanged?", "rest_static")),
        words=("light", "lights", "left", "right", "some", *NUMBERS))

    def build(self, rng: np.random.Generator, difficulty: int) -> Episode | None:
        lo, hi = LEVELS[difficulty]
        n = int(rng.integers(lo, hi + 1))
        row, col0 = int(rng.integers(1, GRID - 1)), int(rng.integers(0, GRID - n + 1))
        k = int(rng.integers(1, n))
        side = "right" if rng.random() < 0.5 else "left"
        want = np.zeros(n, dtype=bool)
        if side == "right":
            want[n - k:] = True
        else:
            want[:k] = True
        lights = rng.random(n) < 0.5
        if (lights != want).sum() < 3:  # at least three switches, so the process is visible
            return None
        s = np.full((GRID, GRID), BACKGROUND)
        s[row, col0:col0 + n] = np.where(lights, ON, OFF)
        states = [s.copy()]
        for i in range(n):  # switch left to right, one light per frame
            if lights[i] != want[i]:
                s[row, col0 + i] = ON if want[i] else OFF
                states.append(s.copy())
        prompt = PROMPTS[int(rng.integers(len(PROMPTS)))].format(
            side=side, k=NUMBERS[k], lights="light" if k == 1 else "lights",
            lamps="lamp" if k == 1 else "lamps", are="is" if k == 1 else "are")
        meta = {"row": row, "cols": [col0, col0 + n], "want": want.astype(int).tolist(), "mover": ON}
        return Episode(states, prompt, meta)

    def _lights(self, states: np.ndarray, instance: Instance) -> np.ndarray:
        c0, c1 = instance.meta["cols"]
        return states[..., instance.meta["row"], c0:c1]

    def goal(self, final: np.ndarray, instance: Instance) -> float:
        want = np.array(instance.meta["want"], dtype=bool)
        start = self._lights(instance.states[0], instance) == ON
        got = self._lights(final, instance)
        if not np.isin(got, (ON, OFF)).all():
            return 0.0
        needed = start != want
        # progress: switched lights that needed it, minus lights broken that were already right
        fixed = ((got == ON) == want)[needed].sum() - ((got == ON) != want)[~needed].sum()
        return float(max(0.0, fixed / needed.sum()))

    def process(self, states: np.ndarray, instance: Instance) -> dict[str, float]:
        mask = np.zeros(instance.grid, dtype=bool)
        c0, c1 = instance.meta["cols"]
        mask[instance.meta["row"], c0:c1] = True
        lights = self._lights(states, instance)
        return {
            "rest_static": rules.region_static(states, ~mask, instance.states[0]),
            "lights_intact": rules.frame_rule(np.isin(lights, (ON, OFF)).all(axis=1)),
            "one_switch_per_frame": rules.changes_ok(states, rules.step_limit(len(states))),
        }
