import pytest
import torch

from vlmteach import reasoners, teachers
from vlmteach.optim import one_step_loss, optimization_step, query_loss
from vlmteach.optim.gradmode import clean_prediction
from vlmteach.tasks import get_family
from vlmteach.teachers import QuerySet


def test_query_loss_weights_goal_and_process():
    q = QuerySet(goal="g?", process=("a?", "b?"), lam=0.5)
    assert query_loss(torch.tensor([1.0, 2.0, 4.0]), q).item() == pytest.approx(0.5 + 0.5 + 1.0)
    with pytest.raises(ValueError, match="one NLL per query"):
        query_loss(torch.tensor([1.0]), q)


def test_optimization_steps_lower_the_teacher_loss_through_the_lora_only():
    # the nets alone: a teacher whose gradient is its answers' (the shipped one steers by its picture, below)
    reasoner, teacher = reasoners.load("tiny"), teachers.load("tiny").with_picture(None)
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


def test_the_shipped_teacher_steers_the_last_frame_towards_its_picture():
    reasoner, teacher = reasoners.load("tiny"), teachers.load("tiny")
    assert teacher.picture is not None and teacher.picture.mode == "guide"
    inst = get_family("object_to_marker").generate(1_000_003)
    queries = teacher.propose_queries(inst.first_frame, inst.prompt)
    cond, z1 = reasoner.condition(inst.first_frame, inst.prompt), reasoner.noise(1)

    def distance() -> float:
        with torch.no_grad():
            video = reasoner.decode_light(clean_prediction(reasoner, z1, cond, "first-step"))
            return float(teacher.picture.distance(video, queries.goal))

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        reasoner.add_lora(rank=16)
    try:
        opt = torch.optim.Adam(reasoner.lora_parameters(), lr=5e-4)
        before = distance()
        for _ in range(8):
            optimization_step(reasoner, teacher, cond, z1, queries, opt)
        after = distance()
        assert after < 0.8 * before
        assert all(p.grad is None for p in teacher.picture.end_state.net.parameters())
    finally:
        reasoner.drop_lora()
