"""The shipped tiny teacher: loading, differentiability, one video encoding for many queries, and
that it actually judges: ground truths look more solved than static videos."""

import pytest
import torch

from vlmteach import teachers
from vlmteach.teachers import Teacher
from vlmteach.errors import VlmteachError
from vlmteach.tasks import all_families, get_family


@pytest.fixture(scope="module")
def teacher():
    return teachers.load("tiny")


def test_loads_within_size(teacher):
    assert sum(p.numel() for p in teacher.net.parameters()) <= 5_000_000
    assert not teacher.can_generate


def test_template_rewrite_and_critique(teacher, monkeypatch):
    inst = get_family("maze").generate(1_000_000)
    queries = teacher.propose_queries(inst.first_frame, inst.prompt)
    rewritten = teacher.rewrite_prompt(inst.first_frame, inst.prompt)
    assert rewritten.startswith(inst.prompt) and all(q in rewritten for q in queries.process)
    # the critique lists exactly the queries answered "No" (logit < 0)
    monkeypatch.setattr(teacher, "yes_logits", lambda frames, texts: torch.tensor([-1.0, 2.0, -0.5, 3.0]))
    critique = teacher.critique(inst.ground_truth.frames, inst.prompt)
    assert critique.splitlines()[1:] == [f"- {queries.texts[0]}", f"- {queries.texts[2]}"]
    monkeypatch.setattr(teacher, "yes_logits", lambda frames, texts: torch.ones(4))
    assert teacher.critique(inst.ground_truth.frames, inst.prompt) == ""
    critique = f"The video fails these checks:\n- {queries.goal}"
    assert teacher.rewrite_prompt(inst.first_frame, inst.prompt, critique) == " ".join(
        [inst.prompt, "Make sure of this:", *(x[2:] for x in critique.splitlines()[1:])])


def test_a_teacher_that_cannot_generate_says_so():
    class Judge(Teacher):
        def propose_queries(self, first_frame, prompt):
            return None

        def yes_nll(self, frames, queries):
            return None

    with pytest.raises(VlmteachError, match="cannot generate"):
        Judge().rewrite_prompt(torch.zeros(3, 32, 32), "x")


def test_yes_nll_is_differentiable_and_encodes_the_video_once(teacher):
    inst = get_family("maze").generate(1_000_000)
    queries = teacher.propose_queries(inst.first_frame, inst.prompt)
    frames = inst.ground_truth.frames.clone()
    frames[-1] = frames[0]  # not solved: the shipped teacher's gradient (its end-state picture's) is not zero
    frames.requires_grad_()
    before = teacher.cost.forwards
    nll = teacher.yes_nll(frames, queries.texts)
    assert teacher.cost.forwards == before + 1
    assert nll.shape == (len(queries.texts),)
    # an NLL of "Yes" is -log p: exp(-nll) must be a probability, and the tiny teacher is never certain
    assert ((torch.exp(-nll) > 0) & (torch.exp(-nll) < 1)).all()
    nll.sum().backward()
    assert frames.grad is not None and frames.grad.abs().sum() > 0
    single = torch.stack([teacher.yes_nll(frames.detach(), [q])[0] for q in queries.texts])
    assert torch.allclose(single, nll.detach(), atol=1e-5)
    with pytest.raises(VlmteachError, match="frames"):
        teacher.yes_nll(frames[0], queries.texts)


def test_ground_truth_looks_more_solved_than_a_static_video(teacher):
    wins, total = 0, 0
    for fam in all_families():
        for seed in (1_000_000, 1_000_001):
            inst = fam.generate(seed)
            goal = [teacher.propose_queries(inst.first_frame, inst.prompt).goal]
            gt = inst.ground_truth.frames
            static = gt[:1].expand_as(gt)
            with torch.no_grad():
                wins += int(teacher.yes_nll(gt, goal)[0] < teacher.yes_nll(static, goal)[0])
            total += 1
    assert wins / total >= 0.9, f"{wins}/{total}"


def test_imperceptible_noise_barely_moves_the_judgement(teacher):
    inst = get_family("object_to_marker").generate(1_000_002)
    queries = teacher.propose_queries(inst.first_frame, inst.prompt).texts
    frames = inst.ground_truth.frames
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        p = torch.exp(-teacher.yes_nll(frames, queries))
        q = torch.exp(-teacher.yes_nll((frames + 0.01 * torch.randn(frames.shape, generator=g)).clamp(0, 1), queries))
    assert (p - q).abs().max() < 0.05


def _stem_tokens(cfg_kwargs, frames):
    """Tokens of each frame straight after the stem and positions (before any attention)."""
    from vlmteach.teachers.tiny import TinyTeacherConfig, TinyTeacherNet

    torch.manual_seed(0)
    net = TinyTeacherNet(TinyTeacherConfig(vocab=["<pad>", "<unk>", "<cls>"], dim=32, video_depth=0, **cfg_kwargs))
    with torch.no_grad():
        return net.encode_video(frames).view(frames.shape[0], -1, 32)


def test_motion_inputs_let_each_frame_see_what_changed():
    inst = get_family("gravity").generate(1_000_000)
    frames = inst.ground_truth.frames
    other_first = frames.clone()
    other_first[0] = frames[-1]
    # with motion inputs, frame 5's own tokens change when frame 0 does (its difference to the first
    # frame is part of its input); without them a frame's tokens are a function of that frame alone
    moved = _stem_tokens({"motion_inputs": True}, frames)[5] - _stem_tokens({"motion_inputs": True}, other_first)[5]
    still = _stem_tokens({}, frames)[5] - _stem_tokens({}, other_first)[5]
    assert moved.abs().max() > 1e-3 and still.abs().max() == 0


def test_weights_saved_before_motion_inputs_still_load(tmp_path):
    import json

    from vlmteach.teachers.tiny import TinyTeacher, TinyTeacherConfig

    old = TinyTeacher(TinyTeacherConfig(vocab=["<pad>", "<unk>", "<cls>", "yes"], dim=32))
    old.save(tmp_path)
    cfg = json.loads((tmp_path / "tiny_teacher.json").read_text())
    del cfg["motion_inputs"], cfg["factorized"]  # a config written before the fields existed
    (tmp_path / "tiny_teacher.json").write_text(json.dumps(cfg))
    loaded = TinyTeacher.load(tmp_path)
    assert loaded.cfg.motion_inputs is False and loaded.cfg.factorized is False
    assert loaded.net.stem[0].in_channels == 3


def test_factorized_attention_attends_within_a_frame_then_across_frames():
    from vlmteach.teachers.tiny import TinyTeacherConfig, TinyTeacherNet

    net = TinyTeacherNet(TinyTeacherConfig(vocab=["<pad>", "<unk>", "<cls>"], dim=32, patch=4, factorized=True))
    seen = {}
    for name, blocks in (("space", net.video), ("time", net.video_time)):
        blocks[0].register_forward_pre_hook(lambda m, inp, name=name: seen.update({name: tuple(inp[0].shape)}))
    frames = torch.rand(2, 6, 3, 32, 32)
    with torch.no_grad():
        tokens = net.encode_video(frames)
    # one token per cell of the 8 x 8 grid: a space block sees the 64 cells of one frame, a time block
    # the 6 frames of one cell
    assert seen == {"space": (12, 64, 32), "time": (128, 6, 32)}
    assert tokens.shape == (2, 6 * 64, 32)
    # videos of a batch do not mix: a video encoded alone gets the same tokens
    with torch.no_grad():
        alone = net.encode_video(frames[1])
    assert torch.allclose(alone[0], tokens[1], atol=1e-5)


def _pick(tokens, index):
    """Index the encoded videos: one tensor (transformer) or a tuple of tensors (probe)."""
    return tuple(t[index] for t in tokens) if isinstance(tokens, tuple) else tokens[index]


@pytest.mark.parametrize("kind", ["transformer", "probe"])
def test_questions_read_their_own_video_when_videos_are_projected_once(kind):
    from vlmteach.teachers.tiny import TinyTeacher, TinyTeacherConfig
    from vlmteach.train.teacher import build_vocab

    torch.manual_seed(0)
    teacher = TinyTeacher(TinyTeacherConfig(vocab=build_vocab(), dim=32, patch=4, factorized=True, stem="cells",
                                            readout="summary", video_depth=1, motion_inputs=True, kind=kind))
    for param in teacher.net.parameters():  # random everywhere, so that different videos give different logits
        param.data.normal_(0, 0.3)
    inst = get_family("gravity").generate(1_000_000)
    videos = torch.stack([inst.ground_truth.frames, inst.ground_truth.frames[:1].repeat(inst.states.shape[0], 1, 1, 1)])
    ids = teacher.tokenizer.encode(["Did the block fall?", "Is the video still?", "Did the block fall?"])
    owner = torch.tensor([1, 0, 0])
    with torch.no_grad():
        tokens = teacher.net.encode_video(videos)
        shared = teacher.net.logits(tokens, ids, owner)
        copied = teacher.net.logits(_pick(tokens, owner), ids)  # one copy of the video per question
        single = teacher.net.logits(_pick(tokens, slice(0, 1)), ids[1:])  # one video for all questions
    assert torch.allclose(shared, copied, atol=1e-5)
    assert torch.allclose(shared[1:], single, atol=1e-5)
    assert not torch.allclose(shared[0], shared[2], atol=1e-3)  # the same question, two videos
    with pytest.raises(VlmteachError, match="owner"):
        teacher.net.logits(tokens, ids[:1].repeat(4, 1))  # 2 videos, 4 questions, no owner


def _ensemble_of_two():
    from vlmteach.teachers.tiny import TinyTeacher, TinyTeacherConfig

    vocab = ["<pad>", "<unk>", "<cls>", "did", "the", "block", "fall"]
    torch.manual_seed(0)
    joint = TinyTeacher(TinyTeacherConfig(vocab=vocab, dim=32, max_frames=24))
    cell = TinyTeacher(TinyTeacherConfig(vocab=vocab, dim=32, patch=4, factorized=True, video_depth=1, max_frames=12))
    return joint, cell, TinyTeacher.ensemble([joint, cell])


def test_an_ensemble_judges_by_the_mean_logit_and_passes_gradients_to_the_frames(tmp_path):
    from vlmteach.teachers.tiny import TinyTeacher

    joint, cell, both = _ensemble_of_two()
    frames = torch.rand(8, 3, 32, 32, requires_grad=True)
    queries = ["did the block fall", "the block"]
    mean = (joint.yes_logits(frames, queries) + cell.yes_logits(frames, queries)) / 2
    logits = both.yes_logits(frames, queries)
    assert torch.allclose(logits, mean, atol=1e-6)
    logits.sum().backward()
    assert frames.grad.abs().sum() > 0
    assert both.max_frames == 12  # the stricter member's limit
    with pytest.raises(VlmteachError, match="at most 12 frames"):
        both.yes_logits(torch.rand(16, 3, 32, 32), queries)
    # saved as a list of members next to their files, and loaded back as the same ensemble
    both.save(tmp_path)
    loaded = TinyTeacher.load(tmp_path)
    assert len(loaded.cfgs) == 2 and loaded.cfgs[1].factorized
    assert not any(p.requires_grad for p in loaded.net.parameters())
    with torch.no_grad():
        assert torch.allclose(loaded.yes_logits(frames, queries), logits, atol=1e-6)


def test_ensemble_members_must_share_a_vocabulary():
    from vlmteach.teachers.tiny import TinyTeacher, TinyTeacherConfig

    joint, _, _ = _ensemble_of_two()
    other = TinyTeacher(TinyTeacherConfig(vocab=["<pad>", "<unk>", "<cls>", "yes"], dim=32))
    with pytest.raises(VlmteachError, match="vocabulary"):
        TinyTeacher.ensemble([joint, other])


def test_the_shipped_teacher_is_the_mean_of_its_three_probe_members(teacher):
    from vlmteach.teachers.tiny import TinyTeacher

    names = ("tiny_teacher_0", "tiny_teacher_1", "tiny_teacher_2")
    members = [TinyTeacher.load(teachers.weights_dir(), name) for name in names]
    # the members of train.teacher.MEMBERS: probe nets with 6, 6 and 8 object slots that measure outside changes
    assert [(m.cfg.kind, m.cfg.slots) for m in members] == [("probe", 6), ("probe", 6), ("probe", 8)]
    assert all(m.cfg.outside_changes for m in members)
    inst = get_family("gravity").generate(1_000_000)
    queries = teacher.propose_queries(inst.first_frame, inst.prompt).texts
    with torch.no_grad():
        mean = sum(m.yes_logits(inst.ground_truth.frames, queries) for m in members) / 3
        assert torch.allclose(teacher.yes_logits(inst.ground_truth.frames, queries), mean, atol=1e-5)


def test_the_cell_stem_reads_each_cell_as_the_scorer_does():
    from vlmteach.tasks.grid import classify_frames
    from vlmteach.tasks.palette import PALETTE_SIZE, RGB
    from vlmteach.teachers.tiny import CellStem

    stem = CellStem(dim=16, temp=0.02, motion=False)
    for name in ("key_door", "counting", "sliding_puzzle"):
        inst = get_family(name).generate(1_000_004)
        frames = inst.ground_truth.frames[[0, -1]]
        noisy = (frames + 0.05 * torch.randn(frames.shape, generator=torch.Generator().manual_seed(1))).clamp(0, 1)
        for x in (frames, noisy):
            f = stem.features(x)  # (frames, cells, [P(ring), ring RGB, P(centre), centre RGB])
            p = len(RGB)
            codes = f[..., :p].argmax(-1) * PALETTE_SIZE + f[..., p + 3:2 * p + 3].argmax(-1)
            expected = torch.from_numpy(classify_frames(x, inst.grid)).flatten(1)
            assert torch.equal(codes, expected)  # the scorers' tile codes, read independently
        assert f[..., :p].sum(-1).allclose(torch.ones(()))


def test_a_summary_readout_keeps_a_one_frame_glitch():
    from vlmteach.teachers.tiny import TinyTeacherConfig, TinyTeacherNet

    inst = get_family("maze").generate(1_000_000)
    frames = inst.ground_truth.frames
    glitch = frames.clone()
    glitch[7, :, :4, :4] = torch.tensor([1.0, 0.0, 0.0])[:, None, None]  # one cell turns red in frame 7
    torch.manual_seed(0)
    cfg = dict(vocab=["<pad>", "<unk>", "<cls>"], dim=32, patch=4, factorized=True, stem="cells", readout="summary")
    for with_max, parts in ((False, 4), (True, 5)):
        net = TinyTeacherNet(TinyTeacherConfig(readout_max=with_max, ends_depth=1, **cfg))
        with torch.no_grad():
            a, b = net.encode_video(frames), net.encode_video(glitch)
        assert a.shape == (1, (parts - 1) * 64 + 16, 32)  # first, last, mean[, max] per cell; one per frame
        assert (a - b).abs().amax() > 0
    with pytest.raises(VlmteachError, match="readout"):
        TinyTeacherNet(TinyTeacherConfig(vocab=["<pad>", "<unk>", "<cls>"], readout="summary", factorized=False))


def test_an_ensemble_can_weigh_its_members_and_keeps_the_weights_when_saved(tmp_path):
    from vlmteach.teachers.tiny import TinyTeacher

    joint, cell, _ = _ensemble_of_two()
    weighted = TinyTeacher.ensemble([joint, cell], [3.0, 1.0])
    frames = torch.rand(8, 3, 32, 32)
    queries = ["did the block fall", "the block"]
    with torch.no_grad():
        expected = 0.75 * joint.yes_logits(frames, queries) + 0.25 * cell.yes_logits(frames, queries)
        assert torch.allclose(weighted.yes_logits(frames, queries), expected, atol=1e-6)
        weighted.save(tmp_path)
        assert torch.allclose(TinyTeacher.load(tmp_path).yes_logits(frames, queries), expected, atol=1e-6)
    for bad in ([1.0], [1.0, -1.0], [0.0, 0.0]):
        with pytest.raises(VlmteachError, match="one non-negative number per member"):
            TinyTeacher.ensemble([joint, cell], bad)
