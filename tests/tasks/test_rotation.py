"""rotation: the scorer wants the asked turning sense, a straight hand, and gives partial angular credit."""

import numpy as np

from vlmteach.tasks.base import NATIVE_FRAMES
from vlmteach.tasks.palette import BACKGROUND
from vlmteach.tasks.registry import get_family
from vlmteach.tasks.rotation import DIRECTIONS, ray_masks

F = get_family("rotation")
N = len(DIRECTIONS)


def _hand_at(inst, direction):
    """The first frame with the hand redrawn pointing in `direction`."""
    s0, hand = inst.states[0], inst.meta["hand"]
    base = np.where(s0 == hand, BACKGROUND, s0)
    rays = ray_masks(tuple(inst.meta["centre"]), inst.meta["length"])
    return np.where(rays[direction % N], hand, base)


def _video(inst, directions):
    frames = [_hand_at(inst, d) for d in directions]
    return np.stack(frames + [frames[-1]] * (NATIVE_FRAMES - len(frames)))


def test_turning_the_other_way_round_breaks_turn_direction():
    for seed in range(6):
        inst = F.generate(seed, 2)  # clockwise
        start, target = inst.meta["start"], inst.meta["target"]
        back = (start - target) % N  # counter-clockwise steps to the same direction
        wrong = F.score_states(_video(inst, [start - i for i in range(back + 1)]), inst)
        gt = F.score_states(inst.states, inst)
        assert wrong.parts["goal"] == 1.0 and wrong.parts["turn_direction"] == 0.0
        assert wrong.total < gt.total - 0.05


def test_counter_clockwise_level_turns_counter_clockwise():
    for seed in range(6):
        inst = F.generate(seed, 3)
        assert "counter-clockwise" in inst.prompt
        dirs = F._directions(inst.states[: inst.solve_frame + 1], inst)
        assert ((dirs[:-1] - dirs[1:]) % N == 1).all()
        assert F.score_states(inst.states, inst).parts["turn_direction"] == 1.0


def test_goal_gives_partial_credit_for_steps_short_of_the_marker_only():
    inst = F.generate(1, 2)
    start, target = inst.meta["start"], inst.meta["target"]
    needed = (target - start) % N
    assert F.goal(_hand_at(inst, target - 1), inst) == 0.5 * (needed - 1) / needed
    assert F.goal(_hand_at(inst, target + 1), inst) == 0.0  # turned past the marker
    assert F.goal(_hand_at(inst, target), inst) == 1.0


def test_a_bent_hand_breaks_hand_intact_and_the_goal():
    inst = F.generate(2, 2)
    target, (r, c), length = inst.meta["target"], inst.meta["centre"], inst.meta["length"]
    bent = _hand_at(inst, target)
    (dr, dc), (er, ec) = DIRECTIONS[target], DIRECTIONS[(target + 1) % N]
    # the tip bends into the next direction
    bent[r + length * dr, c + length * dc] = BACKGROUND
    bent[r + length * er, c + length * ec] = inst.meta["hand"]
    video = np.concatenate([inst.states[: inst.solve_frame], np.repeat(bent[None], 8, 0)])
    bad = F.score_states(video, inst)
    assert F.goal(bent, inst) == 0.0
    assert bad.parts["hand_intact"] < 1.0
