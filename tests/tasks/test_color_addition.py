"""color_addition: the scorer wants the mixed colour, not a wrong one or two unmixed blocks."""

import numpy as np

from vlmteach.tasks.color_addition import MIXES
from vlmteach.tasks.palette import BACKGROUND, BROWN, colour_name, outer_of, tile
from vlmteach.tasks.registry import get_family

F = get_family("color_addition")


def test_prompt_names_both_colours_but_not_the_mixture():
    for seed in range(12):
        inst = F.generate(seed)
        left, right, mix = (int(outer_of(inst.meta[k])) for k in ("left", "right", "mix"))
        assert any({left, right} == {a, b} and mix == m for a, b, m in MIXES)
        assert colour_name(left) in inst.prompt and colour_name(right) in inst.prompt
        assert colour_name(mix) not in inst.prompt


def test_wrong_mixture_colour_scores_zero_goal():
    inst = F.generate(3, 2)
    final = inst.states[-1].copy()
    final[final == inst.meta["mix"]] = tile(BROWN)
    assert F.goal(inst.states[-1], inst) == 1.0
    assert F.goal(final, inst) == 0.0


def test_touching_but_unmixed_blocks_get_half_credit():
    inst = F.generate(5, 3)
    m = inst.meta
    before_merge = inst.states[inst.solve_frame - 1]  # the blocks touch, not merged yet
    assert F.goal(before_merge, inst) == 0.5
    assert 0.0 < F.goal(inst.states[2], inst) < 0.5
    assert F.goal(inst.states[0], inst) == 0.0
    # holding the touching blocks to the end: goal 0.5 and the total well below the solution
    states = inst.states.copy()
    states[inst.solve_frame:] = before_merge
    assert F.score_states(states, inst).total < F.score_states(inst.states, inst).total - 0.25
    assert (before_merge == m["left"]).sum() == 1 and (before_merge == m["right"]).sum() == 1


def test_blocks_passing_through_each_other_break_consistency():
    inst = F.generate(2, 1)
    m = inst.meta
    row, (c1, c2) = m["row"], m["cols"]
    states = inst.states.copy()
    # the two blocks swap colours (pass through each other) for the frames before the merge
    for t in range(1, inst.solve_frame):
        seg = states[t, row, c1:c2 + 1]
        states[t, row, c1:c2 + 1] = np.where(seg == BACKGROUND, BACKGROUND,
                                             np.where(seg == m["left"], m["right"], m["left"]))
    assert F.score_states(inst.states, inst).parts["blocks_consistent"] == 1.0
    assert F.score_states(states, inst).parts["blocks_consistent"] < 1.0
