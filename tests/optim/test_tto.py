import pytest
import torch

from vlmteach import reasoners, teachers
from vlmteach.errors import VlmteachError
from vlmteach.optim import TTOConfig, clean_prediction, optimize, teacher_loss
from vlmteach.tasks import get_family


@pytest.fixture(scope="module")
def models():
    return reasoners.load("tiny"), teachers.load("tiny")


@pytest.fixture(scope="module")
def task(models):
    reasoner, teacher = models
    inst = get_family("maze").generate(1_000_011)
    return (reasoner.condition(inst.first_frame, inst.prompt), reasoner.noise(11),
            teacher.propose_queries(inst.first_frame, inst.prompt))


def run(models, task, **cfg):
    reasoner, teacher = models
    cond, z1, queries = task
    with torch.random.fork_rng(devices=[]):  # the LoRA's random A: the same in every run of this file
        torch.manual_seed(0)
        reasoner.add_lora(16)
    try:
        return optimize(reasoner, teacher, cond, z1, queries, TTOConfig(**cfg))
    finally:
        reasoner.drop_lora()


def test_early_stop_fires_when_the_loss_is_below_tau(models, task):
    trace = run(models, task, tau=1e6)
    assert (trace.stop_reason, trace.steps, len(trace.losses)) == ("tau", 0, 1)


def test_tau_is_the_boundary(models, task):
    """The loop stops as soon as the loss is at or below tau: 1e-6 above the first loss stops at once,
    1e-6 below takes a step."""
    first = run(models, task, tau=0.0, max_steps=0).losses[0]
    above = run(models, task, tau=first + 1e-6, max_steps=3, lr=1e-3)
    assert (above.stop_reason, above.steps) == ("tau", 0)
    at = run(models, task, tau=first, max_steps=3, lr=1e-3)  # "at or below"
    assert (at.stop_reason, at.steps) == ("tau", 0)
    below = run(models, task, tau=first - 1e-6, max_steps=1, lr=1e-3)
    assert below.steps == 1 and below.losses[0] == first


@pytest.mark.parametrize("mode, expected", [("first-step", [True]), ("last-step", [False, False, False, True]),
                                            ("full-chain", [True, True, True, True])])
def test_gradient_modes_run_the_velocity_under_grad_where_they_say(models, task, mode, expected, monkeypatch):
    """Which of the reasoner's velocity calls build a graph, call by call, for a 4-step sampler: the
    one-step prediction (one call), the chain with its last step only, or the whole chain."""
    reasoner, _ = models
    cond, z1, _ = task
    calls: list[bool] = []
    velocity = reasoner.velocity

    def spy(*args, **kwargs):
        calls.append(torch.is_grad_enabled())
        return velocity(*args, **kwargs)

    monkeypatch.setattr(reasoner, "velocity", spy)
    clean_prediction(reasoner, z1, cond, mode, 4)
    assert calls == expected


def test_the_optimizer_option_picks_the_optimizer(models, task, monkeypatch):
    used = []
    for cls in (torch.optim.SGD, torch.optim.Adam, torch.optim.AdamW):
        step = cls.step
        def spy(self, *a, _s=step, _c=cls, **k):
            if type(self) is _c:  # AdamW's step may go through Adam's
                used.append(_c.__name__)
            return _s(self, *a, **k)

        monkeypatch.setattr(cls, "step", spy)
    for name in ("sgd", "adam", "adamw"):
        run(models, task, tau=0.0, max_steps=1, lr=1e-3, optimizer=name)
    assert used == ["SGD", "Adam", "AdamW"]


def test_the_teacher_sees_k_frames(models, task, judged_frame_counts):
    reasoner, teacher = models
    seen = judged_frame_counts(teacher)
    run(models, task, tau=0.0, max_steps=0, frames=5)
    run(models, task, tau=0.0, max_steps=0, frames=1000)  # capped by the video's length
    assert seen[0] == 5 and seen[1] == reasoner.decode_light(reasoner.one_step(task[1], task[0])).shape[0]


def test_step_budget_and_fixed_steps(models, task):
    trace = run(models, task, tau=0.0, max_steps=3, lr=1e-3)
    assert (trace.stop_reason, trace.steps, len(trace.losses)) == ("max_steps", 3, 4)
    assert len(trace.per_query[0]) == len(task[2].texts)
    fixed = run(models, task, tau=1e6, fixed_steps=2, lr=1e-3)  # tau would stop at once: fixed ignores it
    assert (fixed.stop_reason, fixed.steps) == ("fixed_steps", 2)


def test_only_the_lora_changes(models, task):
    reasoner, _ = models
    # a teacher whose gradient is its answers' (the shipped one's answers are its nets', its gradient its picture's)
    teacher = teachers.load("tiny").with_picture(None)
    base = {k: v.clone() for k, v in reasoner.net.state_dict().items()}
    judge = {k: v.clone() for k, v in teacher.net.state_dict().items()}
    trace = run((reasoner, teacher), task, tau=0.0, max_steps=3, lr=1e-3)  # 3e-3 overshoots the current tiny models
    assert trace.losses[-1] < trace.losses[0]
    assert all(torch.equal(v, reasoner.net.state_dict()[k]) for k, v in base.items())
    assert all(torch.equal(v, teacher.net.state_dict()[k]) for k, v in judge.items())
    assert all(p.grad is None for p in teacher.net.parameters())


@pytest.mark.parametrize("mode", ["first-step", "last-step", "full-chain"])
def test_every_gradient_mode_reaches_the_lora(models, task, mode):
    reasoner, teacher = models
    cond, z1, queries = task
    reasoner.add_lora(16)
    try:
        torch.manual_seed(0)
        for p in reasoner.lora_parameters():  # peft starts B at zero; make the adapter non-trivial
            torch.nn.init.normal_(p, std=0.02)
        loss, _ = teacher_loss(reasoner, teacher, cond, z1, queries, TTOConfig(grad=mode))
        loss.backward()
        grads = [p.grad for p in reasoner.lora_parameters()]
        assert all(g is not None for g in grads) and sum(g.abs().sum() for g in grads) > 0
    finally:
        reasoner.drop_lora()


def test_gradient_modes_predict_the_sampler_output(models, task):
    reasoner, _ = models
    cond, z1, _ = task
    with torch.no_grad():
        full = reasoner.sample(z1, cond)
    last = clean_prediction(reasoner, z1, cond, "last-step")
    chain = clean_prediction(reasoner, z1, cond, "full-chain")
    assert torch.allclose(last, full, atol=1e-5) and torch.allclose(chain, full, atol=1e-5)
    assert torch.allclose(clean_prediction(reasoner, z1, cond, "first-step"), reasoner.sample(z1, cond, steps=1), atol=1e-5)


def test_bad_options_name_what_is_valid():
    with pytest.raises(VlmteachError, match="first-step, last-step, full-chain"):
        TTOConfig(grad="middle")
    with pytest.raises(VlmteachError, match="adam, adamw, sgd"):
        TTOConfig(optimizer="lion")
