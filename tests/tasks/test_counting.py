"""counting: the tray must hold exactly as many tokens as rings of the named colour, packed left."""

import numpy as np

from vlmteach.tasks.counting import SLOT, TOKEN, TRAY_ROW
from vlmteach.tasks.palette import BACKGROUND, colour_name, outer_of
from vlmteach.tasks.registry import get_family

F = get_family("counting")


def _tray(inst, k: int, start: int = 0) -> np.ndarray:
    final = inst.states[0].copy()
    final[TRAY_ROW, start:start + k] = TOKEN
    return final


def test_count_is_the_named_colour_only_despite_distractors():
    for seed in range(8):
        inst = F.generate(seed, 3)
        s0, n = inst.states[0], inst.meta["count"]
        rings = s0[:TRAY_ROW]
        assert (rings == inst.meta["target"]).sum() == n
        assert ((rings != inst.meta["target"]) & (rings != BACKGROUND)).sum() >= 3  # distractors
        assert colour_name(int(outer_of(inst.meta["target"]))) in inst.prompt
        assert (inst.states[-1][TRAY_ROW] == TOKEN).sum() == n


def test_one_token_too_many_or_too_few_is_not_a_success():
    inst = F.generate(6, 2)
    n = inst.meta["count"]
    assert F.goal(_tray(inst, n), inst) == 1.0
    for k in (n - 1, n + 1):
        assert 0.0 < F.goal(_tray(inst, k), inst) <= 0.5
    assert F.goal(_tray(inst, 0), inst) == 0.0
    assert F.goal(_tray(inst, 8), inst) < F.goal(_tray(inst, n + 1), inst)


def test_tokens_with_a_gap_lose_the_left_to_right_rule():
    inst = F.generate(2, 1)
    n = inst.meta["count"]
    states = inst.states.copy()
    states[1:, TRAY_ROW] = np.roll(states[1:, TRAY_ROW], 1, axis=1)  # every token one slot right
    score = F.score_states(states, inst)
    assert (states[-1][TRAY_ROW] == TOKEN).sum() == n and states[-1][TRAY_ROW, 0] == SLOT
    assert score.parts["left_to_right"] == 0.0
    assert score.parts["goal"] == 0.5
    assert F.score_states(inst.states, inst).parts["left_to_right"] == 1.0
