"""The tiny teacher's training data comes in groups of one instance, and its loss ranks within them."""

import numpy as np
import pytest
import torch

from vlmteach.tasks import all_families, get_family
from vlmteach.tasks.base import check_part, check_satisfied
from vlmteach.teachers.tiny import TinyTeacher, TinyTeacherConfig
from vlmteach.train.seeds import TEACHER_SEEDS
from vlmteach.train.teacher import TeacherTrainConfig, batch_loss, build_vocab
from vlmteach.train.teacher_data import Batch, PoolItem, draw_items, make_batch
from vlmteach.video import Video

MADE = {"ground_truth": 0.3, "static": 0.2, "corruption": 0.2, "near_miss": 0.3}


def test_a_group_is_one_instance_with_one_key_per_query():
    rng = np.random.default_rng(0)
    items = draw_items(rng, [], [], 3, all_families(), TEACHER_SEEDS, 1.0, 0.0)
    batch = make_batch(rng, items, 4, MADE, 0.0, 0.0)
    assert batch.videos.shape[0] == 12
    for row, video in enumerate(batch.owner):
        same_key = [r for r in range(len(batch.owner)) if batch.key[r] == batch.key[row]]
        # rows sharing a key are the same query text on videos of the same instance
        assert {batch.texts[r] for r in same_key} == {batch.texts[row]}
        assert {batch.instances[batch.owner[r]].seed for r in same_key} == {batch.instances[video].seed}
    # targets are the scorer's parts: graded, and the binary label is "satisfied"
    assert ((batch.targets >= 0) & (batch.targets <= 1)).all()
    assert torch.equal(batch.labels, (batch.targets >= 0.999).float())


def test_ground_truth_satisfies_every_query_and_a_still_video_misses_the_goal():
    rng = np.random.default_rng(1)
    inst = get_family("maze").generate(600_000)
    item = PoolItem(inst, {})
    gt = make_batch(rng, [item], 1, {"ground_truth": 1.0}, 0.0, 0.0)
    assert gt.targets.min() == 1.0
    still = make_batch(rng, [item], 1, {"static": 1.0}, 0.0, 0.0)
    goal = still.texts.index(next(t for t in still.texts if t.startswith("By the end")))
    assert still.targets[goal] == 0.0


def test_the_graded_target_of_the_generic_process_query_is_the_worst_rule():
    parts = {"goal": 0.5, "walls": 1.0, "intact": 0.25, "first_frame": 1.0}
    assert check_part("process", parts) == 0.25 and check_part("goal", parts) == 0.5
    assert check_satisfied("process", parts) == 0.0 and check_satisfied("walls", parts) == 1.0


def test_the_ranking_term_punishes_a_wrong_order_within_a_group_only():
    rng = np.random.default_rng(2)
    inst = get_family("maze").generate(600_001)
    batch = make_batch(rng, [PoolItem(inst, {})], 2, {"ground_truth": 0.5, "static": 0.5}, 0.0, 0.0)
    if len(set(batch.sources)) < 2:
        pytest.skip("the draw gave one source twice")
    teacher = TinyTeacher(TinyTeacherConfig(vocab=build_vocab(), dim=32, patch=4, factorized=True, stem="cells",
                                            readout="summary", video_depth=1))

    class Fixed(torch.nn.Module):  # logits given by hand: +-5 in the order of the targets, or reversed
        def __init__(self, sign):
            super().__init__()
            self.sign = sign

        def encode_video(self, videos):
            return videos

        def logits(self, tokens, ids, owner):
            return self.sign * 5 * (2 * batch.targets - 1)

    cfg = TeacherTrainConfig(out="", reasoner="", rank_weight=1.0)
    _, right = batch_loss(Fixed(1.0), teacher, batch, cfg, torch.device("cpu"))
    _, wrong = batch_loss(Fixed(-1.0), teacher, batch, cfg, torch.device("cpu"))
    assert right["rank"] < 1e-3 and wrong["rank"] > 5.0  # softplus(-(-10)) = 10 for every reversed pair
    assert right["acc"] == 1.0 and wrong["acc"] == 0.0


def test_rows_carry_the_methods_query_weights_and_videos_their_totals():
    """Each video's rows weigh its queries as the methods' loss does (lam on the goal, the rest
    shared by the proposed process queries, 0 on the rule book's other queries), so ranking videos
    by the weighted NLL trains what best-of-N picks by."""
    from vlmteach.teachers.rulebook import propose

    rng = np.random.default_rng(5)
    inst = get_family("maze").generate(600_002)
    batch = make_batch(rng, [PoolItem(inst, {})] * 3, 2, MADE, 0.0, 0.0)
    for v in range(len(batch.videos)):
        rows = [i for i, o in enumerate(batch.owner) if o == v]
        assert sum(float(batch.weight[i]) for i in rows) == pytest.approx(1.0)
        weights = {batch.texts[i]: float(batch.weight[i]) for i in rows}
        proposed = propose(inst.prompt)
        if proposed.goal in weights:  # the rule book's queries (not a generic group)
            assert weights[proposed.goal] == pytest.approx(proposed.lam)
            assert all(weights[q] == pytest.approx((1 - proposed.lam) / len(proposed.process)) for q in proposed.process)
        assert float(batch.totals[v]) == pytest.approx(get_family("maze").score(Video(batch.videos[v]), inst).total)
    assert batch.group.tolist() == sorted(batch.group.tolist()) and set(batch.group.tolist()) == {0, 1, 2}


def test_the_video_ranking_term_wants_the_better_video_to_have_the_lower_weighted_loss():
    from vlmteach.train.teacher import video_rank_loss

    # two videos of one instance (totals 0.9 and 0.4) and one of another, two queries each (weights 0.5)
    batch = Batch(torch.zeros(3, 1, 3, 4, 4), ["a"] * 3, [None] * 3, ["q"] * 6, torch.zeros(6), torch.zeros(6),
                  [0, 0, 1, 1, 2, 2], torch.arange(6), torch.full((6,), 0.5), torch.tensor([0.9, 0.4, 0.0]),
                  torch.tensor([0, 0, 1]))
    cfg = TeacherTrainConfig(out="", reasoner="", video_rank_temp=1.0)
    sure, unsure = torch.tensor([4.0, 4.0, -4.0, -4.0, 9.0, 9.0]), torch.tensor([-4.0, -4.0, 4.0, 4.0, -9.0, -9.0])
    right = video_rank_loss(sure, batch, cfg, torch.device("cpu"))
    wrong = video_rank_loss(unsure, batch, cfg, torch.device("cpu"))
    # weighted NLLs: better video softplus(-4) ~ 0.018, worse softplus(4) ~ 4.018; one ranked pair only
    assert float(right) == pytest.approx(float(torch.nn.functional.softplus(torch.tensor(0.018 - 4.018))), abs=1e-3)
    assert float(wrong) == pytest.approx(float(torch.nn.functional.softplus(torch.tensor(4.0))), abs=1e-3)
