"""stable_sort: bubble-sort a row of coloured bars by height, one adjacent swap per frame, keeping ties in order."""

from __future__ import annotations

import numpy as np

from vlmteach.tasks import rules
from vlmteach.tasks.base import Episode, Instance, TaskFamily
from vlmteach.tasks.palette import BACKGROUND, OBJECT_COLOURS, colour_name, tile
from vlmteach.tasks.queries import QueryRule, no_slots

GRID = 8
MAX_HEIGHT = 6
SWAPS = (3, 15)  # a visible process that still fits in the 16 native frames
# difficulty -> (bar count range, range of the number of bars that repeat an earlier height)
LEVELS = {1: ((3, 4), (0, 0)), 2: ((4, 5), (1, 1)), 3: ((5, 6), (2, 3))}
PROMPTS = (
    "Sort the bars by height from shortest on the left to tallest on the right; bars of equal height keep their order.",
    "The bars are, from left to right, {colours}. Rearrange them so they grow from left to right, swapping two "
    "neighbouring bars at a time; bars of the same height must stay in their original order.",
    "Order the {n} coloured bars from shortest to tallest, left to right, by swapping neighbours one pair per step. "
    "Never swap two bars of equal height.",
    "Perform a stable sort of the bars ({colours}) by height, ascending from left to right, one adjacent swap per step.",
)


def draw_bars(order: list[int], heights: dict[int, int], col0: int) -> np.ndarray:
    """The grid with bars of tile codes `order` standing on the bottom row from column `col0` on."""
    s = np.full((GRID, GRID), BACKGROUND)
    for i, code in enumerate(order):
        s[GRID - heights[code]:, col0 + i] = code
    return s


def inversions(order: list[int], target: list[int]) -> int:
    """Adjacent swaps needed to turn `order` into `target` (both permutations of the same codes)."""
    rank = [target.index(code) for code in order]
    return sum(a > b for i, a in enumerate(rank) for b in rank[i + 1:])


class StableSort(TaskFamily):
    name = "stable_sort"
    faculty = "abstraction"
    split = "in"
    summary = "bubble-sort coloured bars by height, keeping equal bars in order"
    difficulty_range = (1, 3)
    default_difficulty = 2
    queries = QueryRule(
        (r"\bbars\b", r"\bsort|\border\b|\barrange", r"\bheight|shortest|tallest"), no_slots,
        ("By the end of the video, are the bars sorted from shortest to tallest?", "goal"),
        (("Do bars of equal height keep their order?", "stable"),
         ("Does every bar keep its height and colour?", "bars_intact"),
         ("Does everything around the bars stay unchanged?", "background_static")),
        (("Are only two neighbouring bars swapped at each step?", "one_swap_per_frame"),))

    def build(self, rng: np.random.Generator, difficulty: int) -> Episode | None:
        (n_lo, n_hi), (t_lo, t_hi) = LEVELS[difficulty]
        n = int(rng.integers(n_lo, n_hi + 1))
        ties = int(rng.integers(t_lo, min(t_hi, n - 1) + 1))
        distinct = rng.choice(np.arange(1, MAX_HEIGHT + 1), size=n - ties, replace=False)
        heights = rng.permutation(np.concatenate([distinct, rng.choice(distinct, size=ties)]))
        colours = rng.choice(OBJECT_COLOURS, size=n, replace=False)
        order = [tile(int(c)) for c in colours]
        height_of = {code: int(h) for code, h in zip(order, heights)}
        target = sorted(order, key=lambda code: height_of[code])  # Python's sort is stable
        swaps = inversions(order, target)
        if not SWAPS[0] <= swaps <= SWAPS[1]:
            return None
        col0 = int(rng.integers(0, GRID - n + 1))

        states, first_mover = [draw_bars(order, height_of, col0)], None
        done = False
        while not done:  # bubble sort: swap a neighbour pair only when strictly out of order
            done = True
            for i in range(n - 1):
                if height_of[order[i]] > height_of[order[i + 1]]:
                    first_mover = order[i] if first_mover is None else first_mover
                    order[i], order[i + 1] = order[i + 1], order[i]
                    states.append(draw_bars(order, height_of, col0))
                    done = False
        names = [colour_name(int(c)) for c in colours]
        prompt = PROMPTS[int(rng.integers(len(PROMPTS)))].format(
            colours=", ".join(names[:-1]) + " and " + names[-1], n=n)
        meta = {"bars": [int(c) for c in states[0][GRID - 1, col0:col0 + n]],
                "heights": [height_of[c] for c in states[0][GRID - 1, col0:col0 + n]],
                "target": target, "col0": col0, "mover": first_mover}
        return Episode(states, prompt, meta)

    def _heights(self, instance: Instance) -> dict[int, int]:
        return dict(zip(instance.meta["bars"], instance.meta["heights"]))

    def _cols(self, instance: Instance) -> slice:
        col0 = instance.meta["col0"]
        return slice(col0, col0 + len(instance.meta["bars"]))

    def _order(self, state: np.ndarray, instance: Instance) -> list[int] | None:
        """The bar order read off the bottom row, or None where it is not a permutation of the bars
        or the bars above it are not intact."""
        order = [int(c) for c in state[GRID - 1, self._cols(instance)]]
        if sorted(order) != sorted(instance.meta["bars"]):
            return None
        rebuilt = draw_bars(order, self._heights(instance), instance.meta["col0"])
        area = self._area(instance)
        return order if np.array_equal(state[area], rebuilt[area]) else None

    def _area(self, instance: Instance) -> np.ndarray:
        """Mask of the cells a bar can ever occupy: the bar columns up to the tallest bar."""
        mask = np.zeros(instance.grid, dtype=bool)
        mask[GRID - max(instance.meta["heights"]):, self._cols(instance)] = True
        return mask

    def goal(self, final: np.ndarray, instance: Instance) -> float:
        want = draw_bars(instance.meta["target"], self._heights(instance), instance.meta["col0"])
        cols = self._cols(instance)

        def placed(state: np.ndarray) -> float:
            # a slot counts only when its whole column is the right bar, so a swapped tie loses two slots
            return float((state[:, cols] == want[:, cols]).all(axis=0).mean())

        start = placed(instance.states[0])
        return float(max(0.0, (placed(final) - start) / (1.0 - start)))

    def process(self, states: np.ndarray, instance: Instance) -> dict[str, float]:
        orders = [self._order(s, instance) for s in states]
        limit = rules.step_limit(len(states))
        legal = total = 0
        for a, b in zip(orders, orders[1:]):  # share of the reordering made in legal steps, as rules.moves_ok
            if a is None or b is None:
                total += 1
                continue
            d = inversions(a, b)
            total += d
            legal += d if d <= limit else 0
        return {
            "background_static": rules.region_static(states, ~self._area(instance), instance.states[0]),
            "bars_intact": rules.frame_rule([o is not None for o in orders]),
            "one_swap_per_frame": legal / total if total else 1.0,
            "stable": self._stability(states, instance),
        }

    def _stability(self, states: np.ndarray, instance: Instance) -> float:
        """Frame rule: no pair of equal-height bars is ever inverted (positions read off the bottom row)."""
        bars, heights = instance.meta["bars"], instance.meta["heights"]
        bottom = states[:, GRID - 1, self._cols(instance)]  # (T, n)
        ok = np.ones(len(states), dtype=bool)
        for i in range(len(bars)):
            for j in range(i + 1, len(bars)):
                if heights[i] != heights[j]:
                    continue
                hit_i, hit_j = bottom == bars[i], bottom == bars[j]
                seen = (hit_i.sum(1) == 1) & (hit_j.sum(1) == 1)
                ok &= ~seen | (hit_i.argmax(1) < hit_j.argmax(1))
        return rules.frame_rule(ok)
