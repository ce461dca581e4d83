"""`vlmteach train` from the command line: it trains, resumes, passes its flags on, and refuses bad
ones with exit 2. The recipes are shrunk by patching the config classes' defaults; the CLI's own
code runs unchanged."""

from __future__ import annotations

import functools
import json

import pytest
import torch

from vlmteach.cli.main import main
from vlmteach.train import reasoner as reasoner_mod
from vlmteach.train import teacher as teacher_mod

SMALL_REASONER = dict(ae_steps=1, ae_batch=1, batch=2, dim=32, depth=1, checkpoint_every=1)
SMALL_TEACHER = dict(groups=2, group_size=2, pool=2, pool_samples=2, dim=32, checkpoint_every=1,
                     adv_rounds=0)


@pytest.fixture
def small_recipes(monkeypatch):
    monkeypatch.setattr(reasoner_mod, "ReasonerTrainConfig",
                        functools.partial(reasoner_mod.ReasonerTrainConfig, **SMALL_REASONER))
    monkeypatch.setattr(teacher_mod, "TeacherTrainConfig",
                        functools.partial(teacher_mod.TeacherTrainConfig, **SMALL_TEACHER))
    members = {"cells": {"seed": 0, "steps": 1, "ends_depth": 0}, "ends": {"seed": 1, "steps": 2, "ends_depth": 1}}
    monkeypatch.setattr(teacher_mod, "MEMBERS", members)


def _record(path, name):
    return json.loads((path / f"{name}.train.json").read_text())


def test_train_reasoner_then_teacher_from_the_command_line(tmp_path, capsys, small_recipes):
    out = tmp_path / "w"
    assert main(["train", "reasoner", "--out", str(out), "--steps", "2", "--seed", "5"]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {out / 'tiny_reasoner.safetensors'}"
    rec = _record(out, "tiny_reasoner")
    assert rec["steps"] == 2 and rec["seed"] == 5

    # rerun with more steps: it resumes from the checkpoint and counts the first run's time
    assert main(["train", "reasoner", "--out", str(out), "--steps", "3", "--seed", "5"]) == 0
    rec = _record(out, "tiny_reasoner")
    assert rec["steps"] == 3 and rec["wall_s_total"] > rec["wall_s_this_run"]

    # the teacher learns to judge the reasoner in --out (it holds one), member by member
    assert main(["train", "teacher", "--out", str(out), "--member", "ends", "--steps", "1"]) == 0
    rec = _record(out, "tiny_teacher")
    assert rec["reasoner"] == str(out) and rec["steps"] == 1 and rec["seed"] == 1 and rec["ends_depth"] == 1
    assert not (out / "cells").exists()

    # no --member: both members, then their ensemble, each member in its own folder
    assert main(["train", "teacher", "--out", str(tmp_path / "t"), "--reasoner", str(out), "--seed", "9"]) == 0
    ens = _record(tmp_path / "t", "tiny_teacher")
    assert set(ens["members"]) == {"cells", "ends"}
    assert ens["members"]["cells"]["seed"] == 9 == ens["members"]["ends"]["seed"]  # --seed: every member
    assert ens["members"]["ends"]["steps"] == 2


@pytest.mark.parametrize("argv, message", [
    (["train", "reasoner", "--member", "cells"], "--member is for `train teacher` only"),
    (["train", "teacher", "--member", "eyes"], "--member 'eyes' is not a member of the shipped teacher; valid: "),
])
def test_train_refuses_bad_flags(tmp_path, capsys, argv, message):
    assert main([*argv, "--out", str(tmp_path / "w")]) == 2
    assert message in capsys.readouterr().err


def test_train_on_cuda_without_a_gpu_is_refused(tmp_path, capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert main(["train", "reasoner", "--device", "cuda", "--out", str(tmp_path / "w")]) == 2
    assert "no CUDA device is available here" in capsys.readouterr().err


def test_train_refuses_an_output_that_is_a_file(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("x")
    assert main(["train", "reasoner", "--out", str(f)]) == 2
    assert str(f) in capsys.readouterr().err


def test_train_endstate_gives_a_teacher_with_its_picture(tmp_path, capsys, monkeypatch):
    from vlmteach import teachers
    from vlmteach.train import endstate as endstate_mod

    monkeypatch.setattr(endstate_mod, "EndStateTrainConfig", functools.partial(endstate_mod.EndStateTrainConfig, batch=2))
    monkeypatch.setattr(endstate_mod, "attach_picture", functools.partial(endstate_mod.attach_picture, per_family=1, noises=1))
    out = tmp_path / "p"
    assert main(["train", "endstate", "--out", str(out), "--steps", "2"]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {out / 'tiny_teacher.json'}"
    assert _record(out, "tiny_endstate")["steps"] == 2
    fit = json.loads((out / "tiny_endstate.fit.json").read_text())
    assert fit["videos"] == 13 * 2 and fit["scale"] > 0  # a ground truth and one sample per family
    teacher = teachers.load("tiny", str(out))
    assert teacher.picture is not None and teacher.picture.mode == "guide" and teacher.picture.scale == pytest.approx(fit["scale"])
