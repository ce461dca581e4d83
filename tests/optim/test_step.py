import pytest
import torch

from vlmteach import reasoners, teachers
from vlmteach.optim import one_step_loss, optimization_step, query_loss
from vlmteach.tasks import get_family
from vlmteach.teachers import QuerySet


def test_query_loss_weights_goal_and_process():
    q = QuerySet(goal="g?", process=("a?", "b?"), lam=0.5)
    assert query_loss(torch.tensor([1.0, 2.0, 4.0]), q).item() == pytest.approx(0.5 + 0.5 + 1.0)
    with pytest.raises(ValueError, match="one NLL per query"):
        query_loss(torch.tensor([1.0]), q)


def test_optimization_steps_lower_the_teacher_loss_through_the_lora_only():
    reasoner, teacher = reasoners.load("tiny"), teachers.load("tiny")
    inst = get_family("grid_avoid_obstacles").generate(1_000_003)
    queries = teacher.propose_queries(inst.first_frame, inst.prompt)
    cond, z1 = reasoner.condition(inst.first_frame, inst.prompt), reasoner.noise(1)
    with torch.random.fork_rng(devices=[]):  # the LoRA's random A, the same whatever ran before
        torch.manual_seed(0)
        reasoner.add_lora(rank=16)
    try:
        opt = torch.optim.Adam(reasoner.lora_parameters(), lr=5e-4)
        first = optimization_step(reasoner, teacher, cond, z1, queries, opt)
        for _ in range(7):
            optimization_step(reasoner, teacher, cond, z1, queries, opt)
        with torch.no_grad():
            after, _ = one_step_loss(reasoner, teacher, cond, z1, queries)
        assert after.item() < first.loss
        assert reasoner.cost.backwards >= 8 and teacher.cost.backwards >= 8
        assert all(p.grad is None for p in teacher.net.parameters())
    finally:
        reasoner.drop_lora()
