"""key_door: the key must be fetched before the door, and the key rules see cheating."""

import numpy as np

from vlmteach.tasks.gridpath import shortest_path, walk
from vlmteach.tasks.palette import BACKGROUND, WALL
from vlmteach.tasks.registry import get_family

F = get_family("key_door")


def test_walking_straight_to_the_door_fails_goal_and_key_rule():
    inst = F.generate(4, 2)
    m, s0 = inst.meta, inst.states[0]
    base = s0.copy()
    base[tuple(m["start"])] = BACKGROUND
    path = shortest_path(s0 != WALL, tuple(m["start"]), tuple(m["door"]))
    states = np.stack(walk(base, path, m["agent"]))
    score = F.score_states(states, inst)
    assert score.parts["goal"] == 0.0  # the key is still lying there: the door stays locked
    assert score.parts["key_before_door"] < 1.0
    assert score.total < F.score_states(inst.states, inst).total - 0.5


def test_progress_credit_for_key_then_door():
    inst = F.generate(2, 3)
    legs = inst.meta["legs"]
    on_key = inst.states[legs[0]]
    assert F.goal(inst.states[0], inst) == 0.0
    assert 0.0 < F.goal(inst.states[legs[0] - 1], inst) < 0.5  # on the way to the key
    assert F.goal(on_key, inst) == 0.5  # key collected, door not yet reached
    assert 0.5 < F.goal(inst.states[legs[0] + legs[1] - 1], inst) < 1.0  # next to the door
    assert F.goal(inst.states[-1], inst) == 1.0


def test_key_vanishing_without_the_agent_breaks_keys_intact():
    inst = F.generate(1, 2)
    m = inst.meta
    states = inst.states.copy()
    key = tuple(m["key"])
    cell = states[1:, key[0], key[1]]
    states[1:, key[0], key[1]] = np.where(cell == m["key_tile"], BACKGROUND, cell)  # key erased at once
    score = F.score_states(states, inst)
    assert score.parts["goal"] == 1.0
    assert score.parts["keys_intact"] <= 0.5


def test_touching_the_decoy_key_breaks_keys_intact():
    inst = F.generate(0, 3)
    decoy = tuple(inst.meta["decoy"])
    assert inst.states[0][decoy] == inst.meta["decoy_tile"]
    states = inst.states.copy()
    states[3:, decoy[0], decoy[1]] = BACKGROUND
    assert F.score_states(inst.states, inst).parts["keys_intact"] == 1.0
    assert F.score_states(states, inst).parts["keys_intact"] == 0.0
