"""symmetry_completion: fill in the right half of a picture as the mirror image of its left half, one cell per frame."""

from __future__ import annotations

import numpy as np

from vlmteach.tasks import rules
from vlmteach.tasks.base import Episode, Instance, TaskFamily
from vlmteach.tasks.palette import BACKGROUND, OBJECT_COLOURS, colour_name, outer_of, tile
from vlmteach.tasks.queries import QueryRule, no_slots

GRID = 8
HALF = GRID // 2
EXTRA = (2, 8)  # right-half cells already drawn correctly, so the missing count alone sets the difficulty
LEVELS = {1: (3, 5), 2: (6, 10), 3: (11, 15)}  # difficulty -> range of missing cells, one frame each
PROMPTS = (
    "Complete the picture so it is mirror-symmetric about the vertical centre line.",
    "The left half shows a pattern of {colours} squares. Fill in the right half as its mirror image, one square at a time.",
    "Finish the drawing: every {colours} square on the left needs a matching square mirrored across the vertical middle "
    "line, added one per step from top to bottom.",
    "Make the picture symmetric left to right by adding the missing {colours} squares on the right side; do not change "
    "the left half.",
)


def mirrored(state: np.ndarray) -> np.ndarray:
    """The grid whose right half is the left half of `state` mirrored across the vertical centre line."""
    out = state.copy()
    out[:, HALF:] = state[:, HALF - 1::-1]
    return out


class SymmetryCompletion(TaskFamily):
    name = "symmetry_completion"
    faculty = "abstraction"
    split = "in"
    summary = "complete the right half of a picture as the mirror image of the left half"
    difficulty_range = (1, 3)
    default_difficulty = 2
    queries = QueryRule(
        (r"mirror|symmetr", r"\bpicture\b|\bdrawing\b|\bsquares?\b", r"\bleft\b|\bvertical\b"), no_slots,
        ("By the end of the video, is the picture mirror-symmetric?", "goal"),
        (("Does every added square match its mirror image on the left?", "no_wrong_cells"),
         ("Is only one square added at each step?", "one_cell_per_frame"),
         ("Does the left half stay unchanged?", "left_static")),
        (("Do the squares already on the right stay unchanged?", "correct_right_static"),))

    def build(self, rng: np.random.Generator, difficulty: int) -> Episode | None:
        lo, hi = LEVELS[difficulty]
        n_missing = int(rng.integers(lo, hi + 1))
        shown = n_missing + int(rng.integers(EXTRA[0], EXTRA[1] + 1))
        colours = rng.choice(OBJECT_COLOURS, size=int(rng.integers(2, 4)), replace=False)
        left = np.full((GRID, HALF), BACKGROUND)
        cells = rng.choice(GRID * HALF, size=shown, replace=False)
        left.flat[cells] = [tile(int(c)) for c in rng.choice(colours, size=shown)]
        left_used = np.unique(left[left != BACKGROUND])
        if len(left_used) < 2:  # every drawn colour is named in the prompt, so it must appear
            return None
        s = np.full((GRID, GRID), BACKGROUND)
        s[:, :HALF] = left
        target = mirrored(s)
        todo = np.argwhere(target[:, HALF:] != BACKGROUND) + [0, HALF]
        missing = todo[np.sort(rng.choice(len(todo), size=n_missing, replace=False))]  # reading order
        s[:, HALF:] = target[:, HALF:]
        s[missing[:, 0], missing[:, 1]] = BACKGROUND
        states = [s.copy()]
        for r, c in missing:
            s[r, c] = target[r, c]
            states.append(s.copy())
        names = [colour_name(int(outer_of(c))) for c in left_used]
        prompt = PROMPTS[int(rng.integers(len(PROMPTS)))].format(
            colours=", ".join(names[:-1]) + " and " + names[-1])
        meta = {"target": target.tolist(), "missing": missing.tolist()}
        return Episode(states, prompt, meta)

    def _masks(self, instance: Instance) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(target grid, mask of the left half, mask of the missing right cells)."""
        target = np.asarray(instance.meta["target"])
        left = np.zeros(instance.grid, dtype=bool)
        left[:, :HALF] = True
        missing = np.zeros(instance.grid, dtype=bool)
        for r, c in instance.meta["missing"]:
            missing[r, c] = True
        return target, left, missing

    def goal(self, final: np.ndarray, instance: Instance) -> float:
        target, left, missing = self._masks(instance)
        off = (final != target) & ~left
        filled = (final == target)[missing].sum()
        # wrong right cells: a wrong colour on a missing cell, or any change to a cell that was already right
        wrong = (off & ~missing).sum() + (off & missing & (final != BACKGROUND)).sum()
        return float(max(0.0, (filled - wrong) / missing.sum()))

    def process(self, states: np.ndarray, instance: Instance) -> dict[str, float]:
        target, left, missing = self._masks(instance)
        s0 = instance.states[0]
        wrong = (states != BACKGROUND) & (states != target) & ~left  # (T, H, W)
        return {
            "left_static": rules.region_static(states, left, s0),
            "correct_right_static": rules.region_static(states, ~left & ~missing, s0),
            "no_wrong_cells": rules.frame_rule(~wrong.any(axis=(1, 2))),
            "one_cell_per_frame": rules.changes_ok(states, rules.step_limit(len(states))),
        }
