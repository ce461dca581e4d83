"""Near misses of the ground truth: each is what its name says, on the states and by the scorers."""

import numpy as np
import pytest

from vlmteach.tasks import all_families, get_family
from vlmteach.tasks.near_miss import NEAR_MISSES, near_miss_states, near_misses


def test_one_short_stops_one_change_before_the_solution():
    inst = get_family("maze").generate(1_000_001)
    s = near_miss_states(inst, "one_short")
    end = inst.solve_frame
    assert (s[:end] == inst.states[:end]).all()
    assert (s[end:] == inst.states[end - 1]).all() and not (s[-1] == inst.states[-1]).all()
    # the maze ball stands one cell short of the target: the goal gets partial credit, not full
    assert get_family("maze").goal(s[-1], inst) < 1.0


def test_one_extra_changes_exactly_one_still_cell_after_the_solution():
    inst = get_family("light_sequence").generate(1_000_002)
    s = near_miss_states(inst, "one_extra")
    diff = np.argwhere(s != inst.states)
    assert len({(r, c) for _, r, c in diff}) == 1 and diff[:, 0].min() == inst.solve_frame + 1
    r, c = diff[0, 1:]
    assert (inst.states[:, r, c] == inst.states[0, r, c]).all()  # a cell the solution never touches


def test_flicker_breaks_one_frame_and_stall_breaks_nothing():
    fam = get_family("grid_avoid_obstacles")
    inst = fam.generate(1_000_003)
    flick = near_miss_states(inst, "flicker")
    assert (flick != inst.states).any(axis=(1, 2)).sum() == 1
    stall = near_miss_states(inst, "stall")
    assert (stall[-1] == inst.states[-1]).all() and not (stall == inst.states).all()
    videos = near_misses(inst)
    assert fam.score(videos["stall"], inst).total == pytest.approx(1.0)
    assert fam.score(videos["flicker"], inst).total < 1.0


@pytest.mark.parametrize("fam", all_families(), ids=lambda f: f.name)
def test_every_near_miss_but_stall_scores_below_the_ground_truth(fam):
    worse = 0
    for seed in range(1_000_000, 1_000_004):
        inst = fam.generate(seed)
        for name, video in near_misses(inst).items():
            score = fam.score(video, inst).total
            if name == "stall":
                assert score == pytest.approx(1.0)
            else:
                assert score <= 1.0
                worse += score < 1.0
    assert worse >= 8  # most edits apply and are caught; one_extra may touch a cell the goal ignores


def test_unknown_near_miss_names_the_valid_ones():
    with pytest.raises(ValueError, match=", ".join(NEAR_MISSES)):
        near_miss_states(get_family("maze").generate(1_000_000), "wobble")
