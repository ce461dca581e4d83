"""The training scripts run end to end on a miniature recipe and resume where they stopped."""

import json

import torch
from safetensors import safe_open

from vlmteach.reasoners.tiny import TinyReasoner
from vlmteach.teachers.tiny import TinyTeacher
from vlmteach.train.reasoner import ReasonerTrainConfig, train_reasoner
from vlmteach.train.seeds import EVAL_SEED_MIN, REASONER_SEEDS, TEACHER_SEEDS
from vlmteach.train.teacher import SOURCES, TeacherTrainConfig, polish_mix, train_ensemble, train_teacher


def test_seed_ranges_never_touch_evaluation_seeds():
    assert REASONER_SEEDS[1] <= TEACHER_SEEDS[0] and TEACHER_SEEDS[1] <= EVAL_SEED_MIN


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

    tiny = dict(out=str(tmp_path), reasoner=str(tmp_path), steps=2, batch=2, pool=2, checkpoint_every=1, dim=32,
                adv_loops=1, adv_steps=2, polish_steps=2)
    train_teacher(TeacherTrainConfig(adv_rounds=1, **tiny))
    first_round = (tmp_path / "adversarial_1.safetensors").read_bytes()
    # one more adversarial round resumes after the first: its pool is reused, a second one is made
    train_teacher(TeacherTrainConfig(adv_rounds=2, **tiny))
    assert (tmp_path / "adversarial_1.safetensors").read_bytes() == first_round
    with safe_open(str(tmp_path / "adversarial_2.safetensors"), framework="pt") as f:
        videos = f.get_tensor("videos")
        assert videos.dtype == torch.uint8 and videos.shape[0] == 3  # 2 one-step snapshots + the final sample
        assert len(json.loads(f.metadata()["instances"])) == 3
    with safe_open(str(tmp_path / "teacher.ckpt"), framework="pt") as f:
        assert json.loads(f.metadata()["meta"])["step"] == 2 + 2 * 2 + 2  # steps, 2 rounds, polish
    teacher = TinyTeacher.load(tmp_path)
    assert teacher.cfg.dim == 32
    record = json.loads((tmp_path / "tiny_teacher.train.json").read_text())
    assert record["train_seeds"] == list(TEACHER_SEEDS)
    assert record["wall_s_total"] > record["wall_s_this_run"]

    # the shipped teacher's recipe: one member per architecture, each in its own folder, then averaged
    ens = tmp_path / "ensemble"
    archs = {"joint": dict(dim=32), "cell": dict(dim=32, patch=4, factorized=True, video_depth=1)}
    train_ensemble(TeacherTrainConfig(**{**tiny, "out": str(ens)}, adv_rounds=0), archs)
    assert (ens / "joint" / "teacher.ckpt").exists() and (ens / "cell" / "teacher.ckpt").exists()
    teacher = TinyTeacher.load(ens)
    assert [c.patch for c in teacher.cfgs] == [8, 4] and teacher.cfgs[1].factorized
    record = json.loads((ens / "tiny_teacher.train.json").read_text())
    assert set(record["members"]) == {"joint", "cell"} and record["members"]["cell"]["patch"] == 4
    # rerun when done: finished members are not trained again, nor their reasoner pools rebuilt
    def no_pool(*args, **kwargs):
        raise AssertionError("a finished member rebuilt its reasoner pool")

    monkeypatch.setattr("vlmteach.train.teacher.build_pool", no_pool)
    cell = (ens / "cell" / "tiny_teacher.safetensors").read_bytes()
    train_ensemble(TeacherTrainConfig(**{**tiny, "out": str(ens)}, adv_rounds=0), archs)
    assert (ens / "cell" / "tiny_teacher.safetensors").read_bytes() == cell


def test_polish_mix_drops_the_adversarial_share_without_rounds():
    with_rounds, without = polish_mix(True), polish_mix(False)
    assert abs(sum(with_rounds) - 1) < 1e-9 and abs(sum(without) - 1) < 1e-9
    assert with_rounds[SOURCES.index("adversarial")] > 0 and without[SOURCES.index("adversarial")] == 0
    corruption = SOURCES.index("corruption")
    assert without[corruption] > with_rounds[corruption]  # the share is spread over the other sources


def test_the_recipe_architectures_are_the_shipped_members():
    from vlmteach.teachers import weights_dir
    from vlmteach.train.teacher import ARCHS

    for i, fields in enumerate(ARCHS.values()):
        cfg = TinyTeacher.load(weights_dir(), f"tiny_teacher_{i}").cfg
        assert {k: getattr(cfg, k) for k in fields} == fields
        assert cfg.motion_inputs == TeacherTrainConfig(out="", reasoner="").motion_inputs
