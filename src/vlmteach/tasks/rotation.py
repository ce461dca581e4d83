"""rotation: turn a dial's hand one 45-degree step per frame about its centre until it points at a marker."""

from __future__ import annotations

import numpy as np

from vlmteach.tasks import rules
from vlmteach.tasks.base import Episode, Instance, TaskFamily
from vlmteach.tasks.palette import BACKGROUND, OBJECT_COLOURS, WHITE, colour_name, ring, tile
from vlmteach.tasks.queries import QueryRule, colour_before

GRID = 8
# The 8 hand directions in clockwise order on screen (rows grow downwards), starting at north.
DIRECTIONS = ((-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1))
CENTRE = tile(WHITE)
# difficulty -> (hand lengths, range of 45-degree steps needed, sense: +1 clockwise, -1 counter-clockwise)
LEVELS = {1: ((2,), (3, 4), 1), 2: ((2, 3), (3, 7), 1), 3: ((2, 3), (3, 7), -1)}
SENSE_NAMES = {1: "clockwise", -1: "counter-clockwise"}
PROMPTS = (
    "Turn the {hand} hand {sense}, one step at a time, until it points at the {marker} marker.",
    "Rotate the {hand} hand of the dial {sense} around its white centre, 45 degrees per step, until it "
    "points at the {marker} ring.",
    "The {hand} hand must turn {sense} in steps of one eighth of a turn and stop as soon as it points "
    "at the {marker} marker.",
    "Sweep the {hand} hand {sense} about the white pivot, one eighth of a turn per step, and stop when "
    "it points to the {marker} circle.",
)


def ray_masks(centre: tuple[int, int], length: int) -> np.ndarray:
    """(8, GRID, GRID) masks of the hand's cells in each direction (cells 1..length from the centre)."""
    masks = np.zeros((len(DIRECTIONS), GRID, GRID), dtype=bool)
    for i, (dr, dc) in enumerate(DIRECTIONS):
        for k in range(1, length + 1):
            masks[i, centre[0] + k * dr, centre[1] + k * dc] = True
    return masks


def _slots(prompt: str) -> dict[str, str]:
    """{h} the hand's colour, {m} the marker's, {s} the sense of turning."""
    sense = SENSE_NAMES[-1 if "counter" in prompt.lower() else 1]
    return {"h": colour_before("hand", prompt), "m": colour_before("(?:marker|ring|circle)", prompt), "s": sense}


class Rotation(TaskFamily):
    name = "rotation"
    faculty = "transformation"
    split = "ood"
    summary = "turn a dial's hand step by step until it points at a marker"
    difficulty_range = (1, 3)
    default_difficulty = 2
    queries = QueryRule(
        (r"\bhand\b", r"\bpoints? (?:at|to)\b|\bmarker\b", r"\bturn|\brotate|\bsweep|clockwise"), _slots,
        ("By the end of the video, does the {h} hand point at the {m} marker?", "goal"),
        (("Does the {h} hand turn {s}?", "turn_direction"),
         ("Does the {h} hand turn only one eighth of a turn per step?", "one_step_per_frame"),
         ("Does the {h} hand stay a straight, unbroken line?", "hand_intact")),
        (("Does the centre of the dial stay unchanged?", "centre_static"),
         ("Does the {m} marker stay in its place?", "marker_stays")),
        words=tuple(SENSE_NAMES.values()))

    def build(self, rng: np.random.Generator, difficulty: int) -> Episode | None:
        lengths, (lo, hi), sense = LEVELS[difficulty]
        length = int(rng.choice(lengths))
        start, steps = int(rng.integers(len(DIRECTIONS))), int(rng.integers(lo, hi + 1))
        target = (start + sense * steps) % len(DIRECTIONS)
        # the centre leaves room for the hand in all 8 directions; the marker sits one cell beyond
        # the hand's tip in the target direction
        centre = tuple(int(v) for v in rng.integers(length, GRID - length, size=2))
        dr, dc = DIRECTIONS[target]
        marker = (centre[0] + (length + 1) * dr, centre[1] + (length + 1) * dc)
        if not (0 <= marker[0] < GRID and 0 <= marker[1] < GRID):
            return None
        hand_colour, marker_colour = (int(c) for c in rng.choice(OBJECT_COLOURS, size=2, replace=False))
        hand = tile(hand_colour)

        base = np.full((GRID, GRID), BACKGROUND)
        base[centre], base[marker] = CENTRE, ring(marker_colour)
        rays = ray_masks(centre, length)
        states = [np.where(rays[(start + sense * i) % len(DIRECTIONS)], hand, base) for i in range(steps + 1)]
        prompt = PROMPTS[int(rng.integers(len(PROMPTS)))].format(
            hand=colour_name(hand_colour), marker=colour_name(marker_colour), sense=SENSE_NAMES[sense])
        meta = {"centre": list(centre), "length": length, "hand": hand, "marker": list(marker),
                "marker_tile": ring(marker_colour), "start": start, "target": target, "sense": sense,
                "mover": hand}
        return Episode(states, prompt, meta)

    def _directions(self, states: np.ndarray, instance: Instance) -> np.ndarray:
        """Per frame, the direction index the hand points in, or -1 where the hand-coloured cells
        are not exactly one straight ray of the hand's length out of the centre."""
        rays = ray_masks(tuple(instance.meta["centre"]), instance.meta["length"]).reshape(len(DIRECTIONS), -1)
        hand = (states == instance.meta["hand"]).reshape(len(states), 1, -1)
        match = (hand == rays[None]).all(axis=2)  # (T, 8)
        return np.where(match.any(axis=1), match.argmax(axis=1), -1)

    def goal(self, final: np.ndarray, instance: Instance) -> float:
        """1 when the hand points at the marker; below that, half credit scaled by the steps made in
        the asked sense (0 in the first frame, and for a hand turned the wrong way or past the marker)."""
        d = int(self._directions(final[None], instance)[0])
        start, target, sense = instance.meta["start"], instance.meta["target"], instance.meta["sense"]
        if d == target:
            return 1.0
        if d < 0:
            return 0.0
        made, needed = (sense * (d - start)) % len(DIRECTIONS), (sense * (target - start)) % len(DIRECTIONS)
        return 0.5 * made / needed if made < needed else 0.0

    def process(self, states: np.ndarray, instance: Instance) -> dict[str, float]:
        s0, meta = instance.states[0], instance.meta
        centre, marker = np.zeros(instance.grid, dtype=bool), np.zeros(instance.grid, dtype=bool)
        centre[tuple(meta["centre"])] = marker[tuple(meta["marker"])] = True
        dirs = self._directions(states, instance)
        one_step, sense_ok = self._turn_rules(dirs, meta["sense"], rules.step_limit(len(states)))
        return {
            "centre_static": rules.region_static(states, centre, s0),
            "marker_stays": rules.region_static(states, marker, s0),
            "hand_intact": rules.frame_rule(dirs >= 0),
            "one_step_per_frame": one_step,
            "turn_direction": sense_ok,
        }

    @staticmethod
    def _turn_rules(dirs: np.ndarray, sense: int, limit: int) -> tuple[float, float]:
        """Shares of the hand's angular travel (in 45-degree steps, the shorter way round) made in
        transitions of at most `limit` steps, and made in the asked sense. A transition where the hand
        is broken in either frame counts one illegal step for both."""
        a, b = dirs[:-1], dirs[1:]
        valid = (a >= 0) & (b >= 0)
        turn = (b - a + 3) % len(DIRECTIONS) - 3  # signed, in -3..4; a half turn (4) has no sense
        travel = np.where(valid, np.abs(turn), 1)
        total = travel.sum()
        if not total:
            return 1.0, 1.0
        short = (valid & (np.abs(turn) <= limit)) * travel
        right_way = (valid & ((sense * turn > 0) | (turn == 4))) * travel
        return float(short.sum() / total), float(right_way.sum() / total)
