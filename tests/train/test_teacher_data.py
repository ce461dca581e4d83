"""The tiny teacher's training data comes in groups of one instance, and its loss ranks within them."""

import numpy as np
import pytest
import torch

from vlmteach.tasks import all_families, get_family
from vlmteach.tasks.base import check_part, check_satisfied
from vlmteach.teachers.tiny import TinyTeacher, TinyTeacherConfig
from vlmteach.train.seeds import TEACHER_SEEDS
from vlmteach.train.teacher import TeacherTrainConfig, batch_loss, build_vocab
from vlmteach.train.teacher_data import PoolItem, draw_items, make_batch

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
