"""The qwen_vl teacher on random-weight tiny Qwen2.5-VL and Qwen3-VL models: batched judging equals the
plain per-query model forward, one vision pass per call, gradients to the frames only, the prompt equals
what the installed transformers processor expands, generation-based query writing with retry and
marked fallback, offline loading and the spec parser."""

import json
from types import SimpleNamespace

import pytest
import torch

from vlmteach.errors import VlmteachError

pytest.importorskip("transformers")

from vlmteach.teachers import load
from vlmteach.teachers.qwen_tiny import KINDS, tiny_qwen_vl
from vlmteach.teachers.qwen_pixels import video_inputs
from vlmteach.teachers.qwen_vl import QwenVLConfig, QwenVLTeacher, parse_spec

QUERIES = ["Is the red ball on the green square?", "Does the ball stay in one piece?", "Yes?",
           "Does the ball move only one cell at a time, never jumping over the grey walls of the maze?"]


@pytest.fixture(scope="module", params=KINDS)
def teacher(request) -> QwenVLTeacher:
    return tiny_qwen_vl(request.param)


@pytest.fixture
def frames() -> torch.Tensor:
    return torch.rand(8, 3, 64, 64, generator=torch.Generator().manual_seed(1))


def _reference(teacher: QwenVLTeacher, frames: torch.Tensor, query: str) -> torch.Tensor:
    """The unbatched official path: the plain model forward with pixel_values_videos, one query."""
    inputs = teacher.model_inputs(teacher.judged_frames(frames), teacher.question(query))
    logits = teacher.net(**inputs).logits[0, -1].float()
    return -logits.log_softmax(-1)[teacher.yes_id]


def test_batched_yes_nll_equals_the_per_query_model_forward(teacher, frames):
    with torch.no_grad():
        batched = teacher.yes_nll(frames, QUERIES)
        reference = torch.stack([_reference(teacher, frames, q) for q in QUERIES])
        shuffled = teacher.yes_nll(frames.flip(0), QUERIES)
    assert batched.shape == (len(QUERIES),)
    assert torch.allclose(batched, reference, atol=1e-4, rtol=0), (batched, reference)
    # the comparison is sharp: the answers depend on the video and the question well beyond the tolerance
    assert (shuffled - batched).abs().max() > 1e-2
    assert (batched - batched[0]).abs().max() > 1e-2


def test_the_vision_tower_runs_once_per_call(teacher, frames):
    calls = []
    hook = teacher.net.model.visual.register_forward_hook(lambda *_: calls.append(1))
    before = teacher.cost.forwards
    try:
        teacher.yes_nll(frames, QUERIES)
    finally:
        hook.remove()
    assert len(calls) == 1
    assert teacher.cost.forwards == before + 1


def test_the_language_model_reads_the_video_prefix_once(teacher, frames):
    """Rows through the first decoder layer: the prefix (system turn + video) once, then only the short
    question suffixes, so scoring 4 queries costs little more than 1."""
    seen: list[tuple[int, int]] = []
    layer = teacher.net.model.language_model.layers[0]
    hook = layer.register_forward_hook(lambda _m, args, _out: seen.append(tuple(args[0].shape[:2])))
    try:
        with torch.no_grad():
            teacher.yes_nll(frames, QUERIES)
    finally:
        hook.remove()
    _, grid = video_inputs(teacher.judged_frames(frames), teacher.spec)
    prefix = teacher.prompt_ids(teacher.vision_block(grid, video=True), "")[0]
    suffix = max(len(teacher.prompt_ids([], teacher.question(q))[1]) for q in QUERIES)
    assert seen == [(1, len(prefix)), (len(QUERIES), suffix)]
    assert teacher.mm_token_types(torch.tensor(prefix)).eq(2).sum() > 0  # the video sits in the shared prefix


def test_gradients_reach_the_frames_and_not_the_weights(teacher, frames):
    frames = frames.clone().requires_grad_(True)
    nll = teacher.yes_nll(frames, QUERIES[:2])
    assert nll.requires_grad and torch.isfinite(nll).all()
    nll.sum().backward()
    assert frames.grad is not None and torch.isfinite(frames.grad).all() and frames.grad.abs().sum() > 0
    params = list(teacher.net.named_parameters())
    assert params and all(not p.requires_grad and p.grad is None for _, p in params)
    assert not teacher.net.training


def test_more_frames_than_k_are_sampled(teacher):
    long = torch.rand(20, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        picked = teacher.judged_frames(long)
        assert picked.shape[0] == teacher.cfg.frames
        assert torch.allclose(teacher.yes_nll(long, QUERIES[:1]), teacher.yes_nll(picked, QUERIES[:1]))
    every = tiny_qwen_vl(teacher.kind, frames=0)  # the default: judge every frame the method hands over
    assert every.judged_frames(long).shape[0] == 20


def test_the_frame_rate_reaches_the_positions_or_timestamps(teacher, frames):
    """fps sets Qwen2.5-VL's second_per_grid_ts (temporal positions) and Qwen3-VL's timestamp text."""
    with torch.no_grad():
        normal = teacher.yes_nll(frames, QUERIES[:2])
        teacher.cfg.fps = 0.5
        try:
            slow = teacher.yes_nll(frames, QUERIES[:2])
        finally:
            teacher.cfg.fps = 2.0
    assert (slow - normal).abs().max() > 1e-3


def _processor_text(teacher: QwenVLTeacher, grid: torch.Tensor, question: str, k: int) -> str:
    """The prompt the installed transformers processor makes from the official chat template's text."""
    from transformers.models.qwen2_5_vl.processing_qwen2_5_vl import Qwen2_5_VLProcessor
    from transformers.models.qwen3_vl.processing_qwen3_vl import Qwen3VLProcessor
    from transformers.video_utils import VideoMetadata

    cls = Qwen3VLProcessor if teacher.kind == "qwen3_vl" else Qwen2_5_VLProcessor
    proc = object.__new__(cls)  # only the text expansion is used: no image/video processor (torchvision) needed
    proc.video_processor = SimpleNamespace(merge_size=2, temporal_patch_size=2)
    proc.image_token, proc.video_token = "<|image_pad|>", "<|video_pad|>"
    proc.vision_start_token, proc.vision_end_token = "<|vision_start|>", "<|vision_end|>"
    meta = VideoMetadata(total_num_frames=k, fps=teacher.cfg.fps, frames_indices=list(range(k)))
    replacement = proc.replace_video_token({"video_grid_thw": grid, "video_metadata": [meta]}, 0)
    system = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n" if teacher.kind == "qwen2_5_vl" else ""
    template = (f"{system}<|im_start|>user\n<|vision_start|><|video_pad|><|vision_end|>{question}<|im_end|>\n"
                "<|im_start|>assistant\n")
    return proc.get_text_with_replacements([template], videos_replacements=[replacement])[0][0]


@pytest.mark.parametrize("k", [5, 7, 8])
def test_prompt_equals_the_transformers_processor_expansion(teacher, k):
    """Odd frame counts too: Qwen3-VL's last group repeats the last frame index, so 5 frames at 2 fps end
    with "<2.0 seconds>", not a time past the video."""
    frames = torch.rand(k, 3, 64, 64, generator=torch.Generator().manual_seed(k))
    question = teacher.question(QUERIES[0])
    judged = teacher.judged_frames(frames)
    assert judged.shape[0] == min(k, teacher.cfg.frames or k)
    inputs = teacher.model_inputs(judged, question)
    grid = inputs["video_grid_thw"].cpu()
    expected = teacher.tokenizer.encode(_processor_text(teacher, grid, question, judged.shape[0]), add_special_tokens=False)
    assert inputs["input_ids"][0].tolist() == expected
    if teacher.kind == "qwen3_vl" and judged.shape[0] == 5:
        assert teacher.tokenizer.decode(expected).count("seconds>") == 3 and "<2.0 seconds>" in teacher.tokenizer.decode(expected)
    with torch.no_grad():  # the batched path builds the same prefix as the official one
        torch.testing.assert_close(teacher.yes_nll(judged, QUERIES[:1])[0], _reference(teacher, judged, QUERIES[0]),
                                   atol=1e-4, rtol=1e-4)
    types = inputs["mm_token_type_ids"][0].tolist()
    assert types.count(2) == int(grid.prod()) // 4 and set(types) == {0, 2}
    if teacher.kind == "qwen2_5_vl":
        assert inputs["second_per_grid_ts"].tolist() == [2 / teacher.cfg.fps]
    else:
        assert "<0.2 seconds>" in teacher.tokenizer.decode(expected) and "second_per_grid_ts" not in inputs


def _canned(teacher: QwenVLTeacher, monkeypatch, answers: list[str]) -> list[tuple[tuple, str]]:
    """Replace generation by canned answers; returns the (visual shape, text) of each call."""
    calls: list[tuple[tuple, str]] = []

    def fake(visual, text):
        calls.append((tuple(visual.shape), text))
        return answers[len(calls) - 1]

    monkeypatch.setattr(teacher, "_generate", fake)
    return calls


GOOD = json.dumps({"goal": "Is the red ball on the green square?", "process": ["Does the ball stay out of the walls?"]})


def test_propose_queries_parses_generated_json(teacher, frames, monkeypatch):
    calls = _canned(teacher, monkeypatch, [f"Sure:\n```json\n{GOOD}\n```"])
    qs = teacher.propose_queries(frames[0], "Move the red ball to the green square.")
    assert qs.source == "generated" and qs.goal == "Is the red ball on the green square?"
    assert qs.process == ("Does the ball stay out of the walls?",)
    assert len(calls) == 1 and calls[0][0] == (3, 64, 64)  # one generation, on the first frame
    assert "'Move the red ball to the green square.'" in calls[0][1]


def test_propose_queries_retries_a_malformed_answer_once(teacher, frames, monkeypatch):
    bad = json.dumps({"goal": "The ball is on the square.", "process": ["Does it move?"]})  # not a question
    calls = _canned(teacher, monkeypatch, [bad, GOOD])
    assert teacher.propose_queries(frames[0], "Move the ball.").source == "generated"
    assert len(calls) == 2 and "invalid" in calls[1][1] and "not a yes/no question" in calls[1][1]


def test_propose_queries_falls_back_to_marked_generic_queries(teacher, frames, monkeypatch):
    calls = _canned(teacher, monkeypatch, ["no idea", '{"goal": "Is it done?", "process": []}'])
    before = teacher.fallbacks
    qs = teacher.propose_queries(frames[0], "Move the ball.")
    assert qs.source == "generic-fallback" and len(calls) == 2 and teacher.fallbacks == before + 1
    assert qs.goal == "By the end of the video, is the task completed?"


def test_rewrite_and_critique_return_the_generated_text(teacher, frames, monkeypatch):
    calls = _canned(teacher, monkeypatch, ["  Slide the red ball right.\n", "", " - the ball vanishes \n", "OK, all fine"])
    assert teacher.rewrite_prompt(frames[0], "Move the ball.", feedback="- it vanished") == "Slide the red ball right."
    assert teacher.rewrite_prompt(frames[0], "Move the ball.") == "Move the ball."  # empty answer keeps the prompt
    long = torch.rand(20, 3, 64, 64)
    assert teacher.critique(long, "Move the ball.") == "- the ball vanishes"
    assert teacher.critique(long, "Move the ball.") == ""
    assert "- it vanished" in calls[0][1] and calls[0][0] == (3, 64, 64)
    assert calls[2][0] == (teacher.cfg.frames, 3, 64, 64) and "'Move the ball.'" in calls[2][1]


def test_real_generation_runs_on_images_and_videos(teacher, frames):
    teacher.cfg.max_new_tokens = 4
    before = teacher.generations
    try:
        assert isinstance(teacher._generate(frames[0], "Describe the image."), str)
        assert isinstance(teacher._generate(frames, "Describe the video."), str)
    finally:
        teacher.cfg.max_new_tokens = 16
    assert teacher.generations == before + 2


def test_from_pretrained_round_trip_offline(teacher, frames, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    teacher.net.save_pretrained(tmp_path)
    teacher.tokenizer.save_pretrained(tmp_path)
    options = dict(frames=8, max_pixels=64 * 64, min_pixels=32 * 32)
    loaded = QwenVLTeacher.from_pretrained(tmp_path, device="cpu", **options)
    assert loaded.kind == teacher.kind and loaded.dtype == torch.float32 and loaded.cfg.device == "cpu"
    assert all(not p.requires_grad for p in loaded.net.parameters())
    with torch.no_grad():
        assert torch.allclose(loaded.yes_nll(frames, QUERIES), teacher.yes_nll(frames, QUERIES), atol=1e-6)
    via_load = load("qwen_vl", f"{tmp_path},frames=8,max_pixels={64 * 64},min_pixels={32 * 32},dtype=fp32,device=cpu")
    assert isinstance(via_load, QwenVLTeacher) and via_load.cfg.frames == 8


def test_loading_errors_name_the_problem(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(VlmteachError, match="no such folder.*nothing is downloaded"):
        QwenVLTeacher.from_pretrained(tmp_path / "missing")
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "gpt2"}))
    with pytest.raises(VlmteachError, match="'gpt2'.*qwen2_5_vl.*qwen3_vl"):
        QwenVLTeacher.from_pretrained(tmp_path)
    with pytest.raises(VlmteachError, match="valid: frames, max_pixels"):
        QwenVLTeacher.from_pretrained(tmp_path, framez=4)
    with pytest.raises(VlmteachError, match="needs a model folder or cached model id"):
        load("qwen_vl", None)


def test_parse_spec():
    path, cfg = parse_spec("/models/Qwen3-VL-4B-Instruct, dtype=bf16,device=cuda:1,frames=6,max_pixels=200704,fps=1.5,"
                           "outer_vision_tokens=false")
    assert path == "/models/Qwen3-VL-4B-Instruct"
    assert (cfg.dtype, cfg.device, cfg.frames, cfg.max_pixels, cfg.fps, cfg.outer_vision_tokens) == ("bf16", "cuda:1", 6, 200704,
                                                                                                      1.5, False)
    assert parse_spec("Qwen/Qwen2.5-VL-7B-Instruct") == ("Qwen/Qwen2.5-VL-7B-Instruct", QwenVLConfig())
    with pytest.raises(VlmteachError, match="unknown qwen_vl option 'frame'.*valid: frames, max_pixels, min_pixels, fps, dtype"):
        parse_spec("/m,frame=8")
    with pytest.raises(VlmteachError, match="cannot read 'eight' as int"):
        parse_spec("/m,frames=eight")
    with pytest.raises(VlmteachError, match="key=value"):
        parse_spec("/m,bf16")
    with pytest.raises(VlmteachError, match="needs a model folder or cached model id"):
        parse_spec("dtype=bf16")
    with pytest.raises(VlmteachError, match="unknown dtype 'int8'; valid: auto, bf16"):
        parse_spec("/m,dtype=int8")


def test_tokenizer_must_hold_the_answer_as_one_token():
    from vlmteach.teachers.qwen_tiny import tiny_model, tiny_tokenizer

    tok = tiny_tokenizer()
    with pytest.raises(VlmteachError, match="'Certainly' is 9 tokens"):
        QwenVLTeacher(tiny_model("qwen3_vl", tokenizer=tok), tok, QwenVLConfig(answer="Certainly"))
