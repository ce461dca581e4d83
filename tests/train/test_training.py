"""The training scripts run end to end on a miniature recipe and resume where they stopped."""

import json

import torch
from safetensors import safe_open

from vlmteach.reasoners.tiny import TinyReasoner
from vlmteach.teachers.tiny import TinyTeacher
from vlmteach.train.reasoner import ReasonerTrainConfig, train_reasoner
from vlmteach.train.seeds import DEV_SEEDS, EVAL_SEED_MIN, REASONER_SEEDS, TEACHER_SEEDS
from vlmteach.train.teacher import TeacherTrainConfig, train_ensemble, train_teacher
from vlmteach.train.teacher_data import load_pool


def test_seed_ranges_never_overlap():
    ranges = sorted([REASONER_SEEDS, TEACHER_SEEDS, DEV_SEEDS, (EVAL_SEED_MIN, 2**31)])
    assert all(a[1] <= b[0] for a, b in zip(ranges, ranges[1:]))


def test_reasoner_then_teacher_train_and_resume(tmp_path, monkeypatch):
    small = dict(ae_steps=3, ae_batch=1, batch=2, dim=32, depth=1, checkpoint_every=1)
    cfg = ReasonerTrainConfig(out=str(tmp_path), steps=2, **small)
    train_reasoner(cfg)
    first = (tmp_path / "tiny_reasoner.safetensors").read_bytes()
    # "interrupted" at step 2 of 3: a second run continues from the checkpoint instead of restarting
    train_reasoner(ReasonerTrainConfig(out=str(tmp_path), steps=3, **small))
    meta = json.loads((tmp_path / "tiny_reasoner.train.json").read_text())
    assert meta["train_seeds"] == list(REASONER_SEEDS) and meta["steps"] == 3
    assert meta["wall_s_total"] > meta["wall_s_this_run"]  # the interrupted first run's time is counted
    assert (tmp_path / "tiny_reasoner.safetensors").read_bytes() != first
    model = TinyReasoner.load(tmp_path)
    assert model.cfg.dim == 32 and model.cfg.latent_std > 0

    tiny = dict(out=str(tmp_path), reasoner=str(tmp_path), steps=2, groups=2, group_size=2, pool=2, pool_samples=2,
                checkpoint_every=1, dim=32, adv_loops=1, adv_steps=2)
    train_teacher(TeacherTrainConfig(adv_rounds=1, **tiny))
    pool = load_pool(tmp_path / "pool.safetensors")
    assert len(pool) == 2 and pool[0].videos["sample"].shape[0] == 2 and pool[0].videos["sample"].dtype == torch.uint8
    first_round = (tmp_path / "adversarial_1.safetensors").read_bytes()
    # one more adversarial round resumes after the first: its videos are reused, a second round is made
    train_teacher(TeacherTrainConfig(adv_rounds=2, **tiny))
    assert (tmp_path / "adversarial_1.safetensors").read_bytes() == first_round
    (item,) = load_pool(tmp_path / "adversarial_2.safetensors")  # one loop: one instance
    assert item.videos["adversarial"].shape[0] == 5  # 2 views the loop optimized, 2 finished samples, the final one
    with safe_open(str(tmp_path / "teacher.ckpt"), framework="pt") as f:
        assert json.loads(f.metadata()["meta"])["step"] == 2 + 2 * 2  # steps, then 2 rounds
    teacher = TinyTeacher.load(tmp_path)
    assert teacher.cfg.dim == 32 and teacher.cfg.stem == "cells"
    record = json.loads((tmp_path / "tiny_teacher.train.json").read_text())
    assert record["train_seeds"] == list(TEACHER_SEEDS)
    assert record["wall_s_total"] > record["wall_s_this_run"]

    # rerun when done: nothing is trained again, nor the reasoner pool loaded or rebuilt
    def no_pool(*args, **kwargs):
        raise AssertionError("a finished training touched its reasoner pool")

    monkeypatch.setattr("vlmteach.train.teacher.cached_pool", no_pool)
    done = (tmp_path / "tiny_teacher.safetensors").read_bytes()
    train_teacher(TeacherTrainConfig(adv_rounds=2, **tiny))
    assert (tmp_path / "tiny_teacher.safetensors").read_bytes() == done


def test_ensemble_trains_each_member_from_one_shared_pool(tmp_path):
    train_reasoner(ReasonerTrainConfig(out=str(tmp_path), steps=1, ae_steps=1, ae_batch=1, batch=2, dim=32, depth=1))
    cfg = TeacherTrainConfig(out=str(tmp_path), reasoner=str(tmp_path), groups=2, group_size=2, pool=2,
                             pool_samples=2, dim=32)
    members = {"a": {"seed": 0, "steps": 1, "ends_depth": 0}, "b": {"seed": 1, "steps": 2, "readout_max": True, "ends_depth": 1}}
    train_ensemble(cfg, members)
    assert (tmp_path / "pool.safetensors").exists()
    assert not (tmp_path / "a" / "pool.safetensors").exists() and not (tmp_path / "b" / "pool.safetensors").exists()
    teacher = TinyTeacher.load(tmp_path)
    a, b = TinyTeacher.load(tmp_path / "a"), TinyTeacher.load(tmp_path / "b")
    assert (b.cfg.ends_depth, a.cfg.ends_depth) == (1, 0)
    record = json.loads((tmp_path / "tiny_teacher.train.json").read_text())
    assert record["members"]["a"]["seed"] == 0 and record["members"]["b"]["steps"] == 2
    # the ensemble's logit is the mean of its members'
    video = torch.rand(4, 3, 32, 32)
    queries = ["Does the ball reach the target?", "Do the walls stay unbroken?"]
    mean = (a.yes_logits(video, queries) + b.yes_logits(video, queries)) / 2
    assert torch.allclose(teacher.yes_logits(video, queries), mean, atol=1e-5)


def test_a_resumed_reasoner_training_does_only_the_steps_left(tmp_path, monkeypatch):
    """Interrupted after 2 of 3 steps, a rerun takes exactly one more optimizer step (the autoencoder
    stage, finished before, takes none), instead of training from scratch."""
    small = dict(ae_steps=3, ae_batch=1, batch=2, dim=32, depth=1, checkpoint_every=1)
    train_reasoner(ReasonerTrainConfig(out=str(tmp_path), steps=2, **small))
    steps = []
    step = torch.optim.AdamW.step

    def counted(self, *args, **kwargs):
        steps.append(1)
        return step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.AdamW, "step", counted)
    train_reasoner(ReasonerTrainConfig(out=str(tmp_path), steps=3, **small))
    assert len(steps) == 1
    steps.clear()
    train_reasoner(ReasonerTrainConfig(out=str(tmp_path), steps=3, **small))  # done: nothing more
    assert steps == []
