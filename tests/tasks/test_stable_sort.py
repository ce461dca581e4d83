"""stable_sort: the scorer tells a stable bubble sort from unstable, skipping or broken ones."""

import numpy as np

from vlmteach.tasks.registry import get_family
from vlmteach.tasks.stable_sort import draw_bars, inversions

F = get_family("stable_sort")


def _with_ties():
    """An instance at the top difficulty whose tied bars must end in a visible order."""
    return next(i for i in (F.generate(s, 3) for s in range(20)) if len(set(i.meta["heights"])) < len(i.meta["bars"]))


def _swap_video(inst, key) -> np.ndarray:
    """16 frames of adjacent swaps (bubble sort by `key`) from the instance's first frame."""
    order = list(inst.meta["bars"])
    heights = dict(zip(order, inst.meta["heights"]))
    frames = [inst.states[0]]
    changed = True
    while changed:
        changed = False
        for i in range(len(order) - 1):
            if key(order[i]) > key(order[i + 1]):
                order[i], order[i + 1] = order[i + 1], order[i]
                frames.append(draw_bars(order, heights, inst.meta["col0"]))
                changed = True
    frames += [frames[-1]] * (16 - len(frames))
    return np.stack(frames[:16])


def test_inversions_counts_adjacent_swaps():
    assert inversions([1, 2, 3], [1, 2, 3]) == 0
    assert inversions([3, 2, 1], [1, 2, 3]) == 3
    assert inversions([2, 1, 3, 4], [1, 2, 3, 4]) == 1


def test_unstable_sort_loses_the_stability_rule_and_the_goal():
    inst = _with_ties()
    heights = dict(zip(inst.meta["bars"], inst.meta["heights"]))
    first = {c: i for i, c in enumerate(inst.meta["bars"])}
    stable = F.score_states(_swap_video(inst, lambda c: (heights[c], first[c])), inst)
    unstable = F.score_states(_swap_video(inst, lambda c: (heights[c], -first[c])), inst)
    assert stable.total >= 0.99
    assert unstable.parts["one_swap_per_frame"] == 1.0  # still legal swaps, only the ties are inverted
    assert unstable.parts["stable"] < 1.0 and unstable.parts["goal"] < 1.0
    assert unstable.total < stable.total - 0.1


def test_two_swaps_in_one_frame_break_the_swap_rule_but_not_the_goal():
    inst = F.generate(0, 3)
    skipped = np.concatenate([inst.states[:1], inst.states[2:], inst.states[-1:]])
    score = F.score_states(skipped, inst)
    assert score.parts["goal"] == 1.0
    assert score.parts["one_swap_per_frame"] < 1.0


def test_a_bar_that_loses_its_top_cell_is_not_intact_and_not_sorted():
    inst = F.generate(1, 2)
    states = inst.states.copy()
    tallest = max(inst.meta["heights"])
    last_col = inst.meta["col0"] + len(inst.meta["bars"]) - 1  # the tallest bar ends in the last slot
    states[inst.solve_frame:, 8 - tallest, last_col] = states[0, 0, 0]  # background replaces its top cell
    score = F.score_states(states, inst)
    assert score.parts["bars_intact"] < 1.0
    assert score.parts["goal"] < 1.0
    assert score.parts["background_static"] == 1.0
