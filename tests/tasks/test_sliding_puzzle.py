"""sliding_puzzle: the prompt names the solved order, and only slides into the gap count as legal moves."""

import numpy as np

from vlmteach.tasks.palette import BACKGROUND, colour_name, outer_of
from vlmteach.tasks.registry import get_family
from vlmteach.tasks.sliding_puzzle import within_slides

F = get_family("sliding_puzzle")


def _board(inst, state):
    r, c, h, w = inst.meta["board"]
    return state[r:r + h, c:c + w]


def test_within_slides_accepts_slides_and_rejects_swaps():
    a = np.array([[1, 2, 3], [4, BACKGROUND, 5]])
    one = np.array([[1, BACKGROUND, 3], [4, 2, 5]])
    two = np.array([[BACKGROUND, 1, 3], [4, 2, 5]])
    swap = np.array([[2, 1, 3], [4, BACKGROUND, 5]])
    assert within_slides(a, one, 1) and not within_slides(a, two, 1) and within_slides(a, two, 2)
    assert not within_slides(a, swap, 3)


def test_prompt_names_the_solved_colours_in_reading_order():
    for seed in range(12):
        inst = F.generate(seed, 3)
        words = ["the gap" if t == BACKGROUND else colour_name(int(outer_of(t))) for t in inst.meta["solved"]]
        for row, name in enumerate(("top", "middle", "bottom")):
            assert f"{', '.join(words[3 * row:3 * row + 3])} in the {name} row" in inst.prompt, inst.prompt
        assert np.array_equal(_board(inst, inst.states[inst.solve_frame]).ravel(), inst.meta["solved"])


def test_ground_truth_slides_one_tile_per_frame():
    inst = F.generate(1, 3)
    boards = np.stack([_board(inst, s) for s in inst.states[: inst.solve_frame + 1]])
    changed = (boards[1:] != boards[:-1]).sum(axis=(1, 2))
    assert (changed == 2).all()
    gaps = np.array([np.argwhere(b == BACKGROUND)[0] for b in boards])
    assert (np.abs(np.diff(gaps, axis=0)).sum(axis=1) == 1).all()


def test_swapping_tiles_without_the_gap_loses_the_slide_rule():
    """Reaching the solved board by direct swaps of two tiles keeps every tile intact and reaches the
    goal, but no swap is a slide into the gap."""
    inst = F.generate(4, 3)
    r, c, h, w = inst.meta["board"]
    solved = np.reshape(inst.meta["solved"], (h, w))
    state = inst.states[0].copy()
    frames = [state.copy()]
    for i, j in np.argwhere(_board(inst, state) != solved):
        board = _board(inst, state)  # a view: writing it writes the state
        if board[i, j] != solved[i, j]:
            k, m = np.argwhere(board == solved[i, j])[0]
            board[i, j], board[k, m] = board[k, m], board[i, j]
            frames.append(state.copy())
    frames += [frames[-1]] * (16 - len(frames))
    swaps = F.score_states(np.stack(frames[:16]), inst)
    assert swaps.parts["goal"] == 1.0 and swaps.parts["tiles_intact"] == 1.0
    assert swaps.parts["one_slide_per_frame"] < 0.5
    assert swaps.total < F.score_states(inst.states, inst).total - 0.05
