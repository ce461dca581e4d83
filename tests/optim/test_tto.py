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
    reasoner.add_lora(16)
    try:
        return optimize(reasoner, teacher, cond, z1, queries, TTOConfig(**cfg))
    finally:
        reasoner.drop_lora()


def test_early_stop_fires_when_the_loss_is_below_tau(models, task):
    trace = run(models, task, tau=1e6)
    assert (trace.stop_reason, trace.steps, len(trace.losses)) == ("tau", 0, 1)


def test_step_budget_and_fixed_steps(models, task):
    trace = run(models, task, tau=0.0, max_steps=3, lr=1e-3)
    assert (trace.stop_reason, trace.steps, len(trace.losses)) == ("max_steps", 3, 4)
    assert len(trace.per_query[0]) == len(task[2].texts)
    fixed = run(models, task, tau=1e6, fixed_steps=2, lr=1e-3)  # tau would stop at once: fixed ignores it
    assert (fixed.stop_reason, fixed.steps) == ("fixed_steps", 2)


def test_only_the_lora_changes(models, task):
    reasoner, teacher = models
    base = {k: v.clone() for k, v in reasoner.net.state_dict().items()}
    judge = {k: v.clone() for k, v in teacher.net.state_dict().items()}
    trace = run(models, task, tau=0.0, max_steps=3, lr=1e-3)  # 3e-3 overshoots the current tiny models
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
