"""Training the teacher's end-state picture (train/endstate.py): the answer's fit recovers a known
logistic curve, and an interrupted training resumes to the same weights as an uninterrupted one."""

import torch

from vlmteach.teachers.endstate import EndState
from vlmteach.train import endstate as training
import contextlib


def test_fit_picture_recovers_a_known_curve():
    g = torch.Generator().manual_seed(0)
    d = torch.rand(4000, generator=g) * 0.1
    goal = (torch.rand(4000, generator=g) < torch.sigmoid(2.0 - 50.0 * d)).float()
    bias, scale = training.fit_picture(d, goal, steps=1500)
    assert abs(bias - 2.0) < 0.4 and abs(scale - 50.0) < 10.0


def test_an_interrupted_training_resumes_where_it_stopped(tmp_path, monkeypatch):
    monkeypatch.setattr(training, "CHECKPOINT_EVERY", 2)
    cfg = dict(steps=4, batch=4)
    whole = training.train_endstate(training.EndStateTrainConfig(out=str(tmp_path / "whole"), **cfg))
    # stop after the checkpoint at step 2: a run of 4 steps whose loop ends early
    real = training.goal_batch
    calls = {"n": 0}

    def stop_after_two(*args):
        calls["n"] += 1
        if calls["n"] > 2:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(training, "goal_batch", stop_after_two)
    with contextlib.suppress(KeyboardInterrupt):
        training.train_endstate(training.EndStateTrainConfig(out=str(tmp_path / "split"), **cfg))
    assert (tmp_path / "split" / "endstate.ckpt").exists()
    monkeypatch.setattr(training, "goal_batch", real)
    training.train_endstate(training.EndStateTrainConfig(out=str(tmp_path / "split"), **cfg))
    a, b = EndState.load(whole.parent), EndState.load(tmp_path / "split")
    for (name, x), (_, y) in zip(a.net.state_dict().items(), b.net.state_dict().items()):
        assert torch.allclose(x, y, atol=1e-5), name
