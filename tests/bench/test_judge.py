"""Within-instance judge statistics, checked against hand-computed values."""

import math

import numpy as np
import pytest

from vlmteach.bench.judge import (
    JudgedInstance,
    JudgedVideo,
    judge_instance,
    pair_counts,
    ranks,
    selection,
    spearman,
    summarize,
)


def video(total, nll, source="sample", goal=None, rule=1.0):
    parts = {"goal": total if goal is None else goal, "rule": rule, "first_frame": 1.0}
    return JudgedVideo(source, total, parts, list(nll), 0.5 * nll[0] + 0.5 * nll[1])


def instance(videos):
    return JudgedInstance("maze", "in", 1, ["goal?", "rule?"], ["goal", "rule"], videos)


def test_ranks_average_ties_and_spearman_matches_a_hand_count():
    assert ranks(np.array([3.0, 1.0, 3.0, 2.0])).tolist() == [2.5, 0.0, 2.5, 1.0]
    assert spearman([1, 2, 3], [10, 20, 30]) == pytest.approx(1.0)
    assert spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    # ranks (0, 1, 2) against (0, 2, 1): 1 - 6 * sum(d^2) / (n (n^2 - 1)) = 1 - 6 * 2 / 24 = 0.5
    assert spearman([1, 2, 3], [1, 3, 2]) == pytest.approx(0.5)
    assert math.isnan(spearman([1, 1, 1], [1, 2, 3]))


def test_selection_and_auroc_within_one_instance():
    inst = instance([video(1.0, [0.1, 0.2]), video(0.2, [2.0, 0.1]), video(0.6, [0.05, 0.3], rule=0.5),
                     video(1.0, [0.0, 0.0], source="ground_truth")])
    mean, pick, best = selection(inst)
    assert (mean, pick, best) == pytest.approx(((1.0 + 0.2 + 0.6) / 3, 1.0, 1.0))  # loss 0.15 < 0.175 < 1.05
    # goal query: satisfied (1.0) videos 0 and 3 against the unsatisfied 1 and 2: 4 pairs; the goal
    # NLL 0.05 of video 2 beats video 0's 0.1, so one pair is wrong
    assert pair_counts(inst, "goal") == (3.0, 4)
    # process query "rule": only video 2 breaks it (0.5); it has the highest NLL of all, 3 of 3 right
    assert pair_counts(inst, "process") == (3.0, 3)
    s = summarize([inst])
    assert s.auroc_goal == pytest.approx(0.75) and s.auroc_process == pytest.approx(1.0)
    assert s.efficiency == pytest.approx(1.0)


def test_a_judge_that_prefers_the_worst_sample_has_negative_efficiency():
    inst = instance([video(0.9, [1.0, 1.0]), video(0.1, [0.1, 0.1]), video(0.5, [0.5, 0.5])])
    s = summarize([inst])
    assert s.rho == pytest.approx(-1.0)
    assert s.efficiency == pytest.approx((0.1 - 0.5) / (0.9 - 0.5))


def test_judge_instance_scores_samples_and_edits(tmp_path):
    from vlmteach import reasoners, teachers
    from vlmteach.tasks import get_family

    inst = get_family("maze").generate(1_000_005)
    judged = judge_instance(reasoners.load("tiny"), teachers.load("tiny"), inst, n=3)
    sources = [v.source for v in judged.videos]
    assert sources[:3] == ["sample"] * 3 and "ground_truth" in sources and "one_short" in sources
    gt = judged.videos[sources.index("ground_truth")]
    assert gt.total == pytest.approx(1.0) and len(gt.nll) == len(judged.queries) == len(judged.checks)
    assert JudgedInstance.from_json(judged.to_json()) == judged


def test_rho_wide_leaves_out_instances_whose_samples_score_alike():
    # samples 0.9 / 0.1 / 0.5 ranked exactly backwards (rho -1), and samples a thousandth apart ranked
    # right (rho +1): rho averages both, rho_wide keeps only the first (span 0.8 > 0.1 >= 0.002)
    wide = instance([video(0.9, [1.0, 1.0]), video(0.1, [0.1, 0.1]), video(0.5, [0.5, 0.5])])
    narrow = instance([video(0.101, [0.1, 0.1]), video(0.100, [0.5, 0.5]), video(0.102, [0.0, 0.0])])
    s = summarize([wide, narrow])
    assert (s.rho, s.rho_n) == (pytest.approx(0.0), 2)
    assert (s.rho_wide, s.rho_wide_n) == (pytest.approx(-1.0), 1)
