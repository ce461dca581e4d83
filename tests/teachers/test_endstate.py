"""The teacher's picture of the end state (teachers/endstate.py): which questions it answers, that it
draws the colours its net names, that its answer's gradient pulls the last frame towards the picture
and no other frame, and that a teacher keeps it through save and load."""

import numpy as np
import pytest
import torch

from vlmteach import teachers
from vlmteach.errors import VlmteachError
from vlmteach.tasks import all_families, get_family
from vlmteach.tasks.grid import render_frame
from vlmteach.tasks.palette import PALETTE_SIZE, RGB
from vlmteach.teachers.endstate import EndState, EndStateConfig, Picture, asks_about_end, picture_mode
from vlmteach.teachers.rulebook import propose
from vlmteach.train.teacher import build_vocab


@pytest.fixture(scope="module")
def end_state():
    torch.manual_seed(0)
    return EndState(EndStateConfig(vocab=build_vocab(), dim=32, depth=1, heads=2))


def test_every_goal_question_and_no_process_question_asks_about_the_end():
    for fam in all_families():
        queries = propose(fam.generate(1_000_000).prompt)
        assert asks_about_end(queries.goal), fam.name
        assert not any(asks_about_end(q) for q in queries.process), fam.name


class _Fixed(torch.nn.Module):
    """An end-state net stub that names the same colours whatever it reads."""

    def __init__(self, logits: torch.Tensor):
        super().__init__()
        self.logits = logits
        self.w = torch.nn.Parameter(torch.zeros(()))

    def forward(self, codes, ids):
        return self.logits.expand(len(codes), -1, -1, -1)


def test_the_picture_draws_the_colours_the_net_names():
    inst = get_family("maze").generate(1_000_000)
    rng = np.random.default_rng(0)
    codes = rng.integers(0, len(RGB), (8, 8)) * PALETTE_SIZE + rng.integers(0, len(RGB), (8, 8))
    flat = torch.from_numpy(codes.reshape(-1))
    logits = torch.zeros(1, 64, 2, len(RGB))
    logits[0, torch.arange(64), 0, flat // PALETTE_SIZE] = 5.0
    logits[0, torch.arange(64), 1, flat % PALETTE_SIZE] = 5.0
    end_state = EndState(EndStateConfig(vocab=build_vocab(), dim=32, depth=1, heads=2), _Fixed(logits))
    pic, sure = end_state.picture(inst.first_frame[None], [propose(inst.prompt).goal])
    assert torch.allclose(pic[0], render_frame(codes))
    p = float(torch.softmax(torch.tensor([5.0] + [0.0] * (len(RGB) - 1)), 0)[0])
    assert torch.allclose(sure, torch.full_like(sure, p))


def test_the_answer_pulls_the_last_frame_towards_the_picture_and_leaves_the_others(end_state):
    inst = get_family("maze").generate(1_000_001)
    question = propose(inst.prompt).goal
    picture = Picture(end_state, bias=2.0, scale=50.0)
    pic, sure = picture.pictured(inst.first_frame, question)
    frames = inst.ground_truth.frames.clone()
    at_picture = frames.clone()
    at_picture[-1] = pic
    assert float(picture.logits(at_picture, [question])[0]) == pytest.approx(2.0)
    frames.requires_grad_(True)
    nll = torch.nn.functional.softplus(-picture.logits(frames, [question])[0])
    nll.backward()
    assert torch.all(frames.grad[:-1] == 0)
    step = frames.detach().clone()
    step[-1] -= 0.5 * frames.grad[-1] / frames.grad[-1].abs().max()
    before = float((sure * (frames.detach()[-1] - pic) ** 2).mean())
    after = float((sure * (step[-1] - pic) ** 2).mean())
    assert after < before


def test_a_bad_scale_or_mode_is_refused(end_state):
    with pytest.raises(VlmteachError, match="scale"):
        Picture(end_state, 0.0, 0.0)
    with pytest.raises(VlmteachError, match="guide, add, replace"):
        Picture(end_state, 0.0, 1.0, mode="adds")


def test_a_guiding_picture_keeps_the_nets_answers_and_gives_the_goal_its_gradient(end_state):
    inst = get_family("object_to_marker").generate(1_000_005)
    queries = propose(inst.prompt)
    plain = teachers.load("tiny").with_picture(None)
    picture = Picture(end_state, bias=0.5, scale=40.0, mode="guide")
    guided = teachers.load("tiny").with_picture(picture)
    frames = inst.ground_truth.frames.clone().requires_grad_(True)
    answers = guided.yes_logits(frames, queries.texts)
    assert torch.allclose(answers, plain.yes_logits(frames.detach(), queries.texts), atol=1e-6)
    # the process answers steer nothing
    (proc,) = torch.autograd.grad(answers[1:].sum(), frames, retain_graph=True, allow_unused=True)
    assert proc is None or torch.all(proc == 0)
    # the goal's gradient: that of -scale * mean(sure * (last - pic)^2), written out
    (goal,) = torch.autograd.grad(answers[0], frames)
    pic, sure = picture.pictured(inst.first_frame, queries.goal)
    last = frames.detach()[-1]
    expected = -40.0 * 2 * sure * (last - pic) / last.numel()
    assert torch.all(goal[:-1] == 0)
    assert torch.allclose(goal[-1], expected, atol=1e-6)
    assert goal[-1].abs().max() > 0


def test_manifests_written_before_picture_modes_keep_their_meaning():
    assert picture_mode({"mode": "guide"}) == "guide"
    assert picture_mode({"adds": True}) == "add"
    assert picture_mode({"adds": False}) == "replace"
    assert picture_mode({}) == "replace"


def test_a_teacher_with_a_picture_answers_the_goal_by_it_and_the_rest_by_its_nets(end_state, tmp_path):
    inst = get_family("gravity").generate(1_000_002)
    queries = propose(inst.prompt)
    frames = inst.ground_truth.frames
    plain = teachers.load("tiny").with_picture(None)
    before = plain.yes_logits(frames, queries.texts)
    picture = Picture(end_state, bias=1.0, scale=30.0, mode="replace")
    with_pic = teachers.load("tiny").with_picture(picture)
    after = with_pic.yes_logits(frames, queries.texts)
    assert torch.allclose(after[1:], before[1:], atol=1e-6)
    assert float(after[0]) == pytest.approx(float(picture.logits(frames, [queries.goal])[0]), abs=1e-6)
    with_pic.save(tmp_path)
    loaded = type(with_pic).load(tmp_path)
    assert loaded.picture is not None and (loaded.picture.bias, loaded.picture.scale) == (1.0, 30.0)
    assert loaded.picture.mode == "replace"
    assert torch.allclose(loaded.yes_logits(frames, queries.texts), after, atol=1e-6)


def test_an_adding_picture_adds_its_evidence_to_the_nets_answer(end_state):
    inst = get_family("maze").generate(1_000_003)
    queries = propose(inst.prompt)
    frames = inst.ground_truth.frames
    before = teachers.load("tiny").with_picture(None).yes_logits(frames, queries.texts)
    picture = Picture(end_state, bias=0.5, scale=20.0, mode="add")
    after = teachers.load("tiny").with_picture(picture).yes_logits(frames, queries.texts)
    assert torch.allclose(after[1:], before[1:], atol=1e-6)
    expected = before[0] + picture.logits(frames, [queries.goal])[0]
    assert float(after[0]) == pytest.approx(float(expected), abs=1e-5)


def test_a_single_net_teacher_keeps_its_picture_through_save_and_load(end_state, tmp_path):
    from vlmteach.teachers.tiny import TinyTeacher

    single = TinyTeacher.load(teachers.tiny.weights_dir(), "tiny_teacher_0").with_picture(Picture(end_state, 0.5, 7.0))
    single.save(tmp_path)
    loaded = TinyTeacher.load(tmp_path)
    assert loaded.picture is not None and (loaded.picture.bias, loaded.picture.scale) == (0.5, 7.0)
    assert loaded.picture.mode == "guide"
    inst = get_family("maze").generate(1_000_004)
    texts = propose(inst.prompt).texts
    frames = inst.ground_truth.frames
    assert torch.allclose(loaded.yes_logits(frames, texts), single.yes_logits(frames, texts), atol=1e-6)


def test_without_autograd_a_guiding_picture_is_not_consulted(end_state, monkeypatch):
    inst = get_family("maze").generate(1_000_006)
    texts = propose(inst.prompt).texts
    picture = Picture(end_state, bias=0.5, scale=40.0, mode="guide")
    guided = teachers.load("tiny").with_picture(picture)
    with_grad = guided.yes_logits(inst.ground_truth.frames, texts)

    def refuse(*args, **kwargs):
        raise AssertionError("the picture was consulted for an answer it cannot change")

    monkeypatch.setattr(picture, "logits", refuse)
    with torch.no_grad():
        answers = guided.yes_logits(inst.ground_truth.frames, texts)
    assert torch.equal(answers, with_grad.detach())
