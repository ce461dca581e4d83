"""symmetry_completion: the scorer wants a mirror image, not a copy, and no wrong cells on the way."""

import numpy as np

from vlmteach.tasks.palette import BACKGROUND
from vlmteach.tasks.registry import get_family

F = get_family("symmetry_completion")


def _fill(inst, cells, values) -> np.ndarray:
    """16 frames from the first frame, setting cells[i] to values[i] one per frame."""
    s = inst.states[0].copy()
    frames = [s.copy()]
    for (r, c), v in zip(cells, values):
        s[r, c] = v
        frames.append(s.copy())
    frames += [frames[-1]] * (16 - len(frames))
    return np.stack(frames)


def test_any_fill_order_is_fine():
    inst = F.generate(3, 2)
    target = np.asarray(inst.meta["target"])
    cells = inst.meta["missing"][::-1]  # bottom-up instead of reading order
    score = F.score_states(_fill(inst, cells, [target[r, c] for r, c in cells]), inst)
    assert score.total >= 0.99


def test_a_translated_copy_is_not_a_mirror_image():
    inst = F.generate(4, 3)
    s0 = inst.states[0]
    wrong = [(r, c) for r in range(8) for c in range(4, 8) if s0[r, c] != s0[r, c - 4]]
    video = _fill(inst, wrong[:15], [s0[r, c - 4] for r, c in wrong[:15]])  # copy left half, unmirrored
    score = F.score_states(video, inst)
    assert score.parts["no_wrong_cells"] < 1.0
    assert score.parts["goal"] < 0.5
    assert score.total < F.score_states(inst.states, inst).total - 0.3


def test_one_wrong_colour_costs_goal_and_rule():
    inst = F.generate(5, 2)
    target = np.asarray(inst.meta["target"])
    cells = inst.meta["missing"]
    values = [target[r, c] for r, c in cells]
    values[0] = next(v for v in np.unique(target) if v not in (BACKGROUND, values[0]))
    score = F.score_states(_fill(inst, cells, values), inst)
    assert score.parts["left_static"] == 1.0 and score.parts["one_cell_per_frame"] == 1.0
    assert score.parts["no_wrong_cells"] < 1.0
    n = len(cells)
    assert abs(score.parts["goal"] - (n - 2) / n) < 1e-9  # n - 1 right, one wrong: (n - 1 - 1) / n


def test_two_cells_per_frame_break_the_one_cell_rule():
    inst = F.generate(6, 2)
    skipped = np.concatenate([inst.states[:1], inst.states[2:], inst.states[-1:]])
    score = F.score_states(skipped, inst)
    assert score.parts["goal"] == 1.0
    assert score.parts["one_cell_per_frame"] < 1.0
