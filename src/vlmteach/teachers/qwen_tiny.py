"""Random-weight Qwen-VL models for tests, `vlmteach doctor --backend qwen_vl --tiny` and step-cost
benchmarks: a byte-level tokenizer built in memory (no files, no download) and transformers configs
at tiny size or at the real published dimensions (random weights, so costs are real, answers are not).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import torch

from vlmteach.errors import VlmteachError
from vlmteach.specs import parse_spec_options

KINDS = ("qwen3_vl", "qwen2_5_vl")
SIZES = {"qwen3_vl": ("tiny", "4b"), "qwen2_5_vl": ("tiny", "3b", "7b")}
# The Qwen chat and vision special tokens, in the order of the real vocabulary (151643 on).
SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
                  "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>", "<|vision_end|>",
                  "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>")
REAL_SPECIAL_BASE = 151643
# Whole-word merges on top of the 256 byte tokens: the answer words must be single tokens, as in Qwen's vocabulary.
# Tiny models use a wider weight init than real ones (0.02) so that their answers clearly depend on the video
# and the prompt: a test that compares two ways of computing them can then fail.
TINY_INIT = 0.1
WORDS = ("Yes", "No", "Is", "Does", "the", "video", "seconds")


def tiny_tokenizer() -> Any:
    """A byte-level BPE tokenizer (encodes any text) holding the Qwen special tokens and "Yes" / "No" as
    single tokens, built in memory."""
    from vlmteach.nn.hf_tokenizer import byte_tokenizer

    return byte_tokenizer(SPECIAL_TOKENS, eos="<|im_end|>", pad="<|endoftext|>", words=WORDS)


def _token_ids(tokenizer: Any | None) -> dict[str, int]:
    """The config's special token ids: from the tokenizer, or the real Qwen ids."""
    names = {"image_token_id": "<|image_pad|>", "video_token_id": "<|video_pad|>",
             "vision_start_token_id": "<|vision_start|>", "vision_end_token_id": "<|vision_end|>"}
    if tokenizer is None:
        return {k: REAL_SPECIAL_BASE + SPECIAL_TOKENS.index(v) for k, v in names.items()}
    return {k: tokenizer.convert_tokens_to_ids(v) for k, v in names.items()}


def _dims(kind: str, size: str, vocab: int) -> tuple[dict, dict, bool]:
    """(text_config, vision_config, tie_word_embeddings) for a kind and size."""
    if kind == "qwen3_vl":
        if size == "tiny":  # head_dim 16 -> mrope_section sums to 8; 4x4-patch frames read an 8x8 position grid
            text = dict(vocab_size=vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                        num_key_value_heads=2, head_dim=16, max_position_embeddings=4096, initializer_range=TINY_INIT,
                        rope_parameters=dict(rope_type="default", rope_theta=5e6, mrope_section=[2, 3, 3], mrope_interleaved=True))
            vision = dict(depth=2, hidden_size=32, intermediate_size=64, num_heads=2, patch_size=16, spatial_merge_size=2,
                          temporal_patch_size=2, out_hidden_size=64, num_position_embeddings=64, deepstack_visual_indexes=[0, 1],
                          initializer_range=TINY_INIT)
            return text, vision, False
        # Qwen3-VL-4B-Instruct: dimensions copied from its published config.json (weights here are random).
        text = dict(vocab_size=vocab, hidden_size=2560, intermediate_size=9728, num_hidden_layers=36, num_attention_heads=32,
                    num_key_value_heads=8, head_dim=128, max_position_embeddings=262144, rms_norm_eps=1e-6,
                    rope_parameters=dict(rope_type="default", rope_theta=5e6, mrope_section=[24, 20, 20], mrope_interleaved=True))
        vision = dict(depth=24, hidden_size=1024, intermediate_size=4096, num_heads=16, patch_size=16, spatial_merge_size=2,
                      temporal_patch_size=2, out_hidden_size=2560, num_position_embeddings=2304, deepstack_visual_indexes=[5, 11, 17],
                      hidden_act="gelu_pytorch_tanh")
        return text, vision, True
    if size == "tiny":  # head_dim 16; a 2x2-merged-patch window (56 px) so window attention is exercised
        text = dict(vocab_size=vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                    num_key_value_heads=2, max_position_embeddings=4096, initializer_range=TINY_INIT,
                    bos_token_id=None, eos_token_id=None,
                    rope_parameters=dict(rope_type="default", rope_theta=1e6, mrope_section=[2, 3, 3]))
        vision = dict(depth=2, hidden_size=32, intermediate_size=64, num_heads=2, patch_size=14, spatial_merge_size=2,
                      temporal_patch_size=2, out_hidden_size=64, window_size=56, fullatt_block_indexes=[1], tokens_per_second=2,
                      initializer_range=TINY_INIT)
        return text, vision, False
    # Qwen2.5-VL-3B / -7B-Instruct: dimensions copied from their published config.json (weights here are random).
    hidden, inter, layers, heads, kv, tie = {"3b": (2048, 11008, 36, 16, 2, True), "7b": (3584, 18944, 28, 28, 4, False)}[size]
    text = dict(vocab_size=vocab, hidden_size=hidden, intermediate_size=inter, num_hidden_layers=layers, num_attention_heads=heads,
                num_key_value_heads=kv, max_position_embeddings=128000, rms_norm_eps=1e-6,
                rope_parameters=dict(rope_type="default", rope_theta=1e6, mrope_section=[16, 24, 24]))
    vision = dict(depth=32, hidden_size=1280, intermediate_size=3420, num_heads=16, patch_size=14, spatial_merge_size=2,
                  temporal_patch_size=2, out_hidden_size=hidden, window_size=112, fullatt_block_indexes=[7, 15, 23, 31],
                  tokens_per_second=2, hidden_act="silu")
    return text, vision, tie


def qwen_vl_config(kind: str = "qwen3_vl", size: str = "tiny", tokenizer: Any | None = None) -> Any:
    """A transformers config for `kind` at `size` ("tiny", or the real "4b" of Qwen3-VL, "3b" / "7b" of
    Qwen2.5-VL). Token ids come from `tokenizer` (default: the tiny tokenizer for "tiny", Qwen's real ids otherwise)."""
    if kind not in KINDS:
        raise VlmteachError(f"unknown Qwen-VL kind {kind!r}; valid: {', '.join(KINDS)}")
    if size not in SIZES[kind]:
        raise VlmteachError(f"unknown size {size!r} for {kind}; valid: {', '.join(SIZES[kind])}")
    if tokenizer is None and size == "tiny":
        tokenizer = tiny_tokenizer()
    # real sizes keep the real vocabulary (its embedding and head are a large share of the cost) whatever the tokenizer
    vocab = len(tokenizer) if size == "tiny" else {"4b": 151936, "3b": 151936, "7b": 152064}[size]
    text, vision, tie = _dims(kind, size, vocab)
    ids = _token_ids(tokenizer)
    if kind == "qwen3_vl":
        from transformers import Qwen3VLConfig

        return Qwen3VLConfig(text_config=text, vision_config=vision, tie_word_embeddings=tie, **ids)
    from transformers import Qwen2_5_VLConfig

    return Qwen2_5_VLConfig(text_config=text, vision_config=vision, tie_word_embeddings=tie, **ids)


def tiny_model(kind: str = "qwen3_vl", seed: int = 0, tokenizer: Any | None = None) -> Any:
    """A random-weight tiny Qwen-VL model (fp32, eval mode) for the given kind."""
    from transformers import Qwen2_5_VLForConditionalGeneration, Qwen3VLForConditionalGeneration

    config = qwen_vl_config(kind, "tiny", tokenizer)
    cls = Qwen3VLForConditionalGeneration if kind == "qwen3_vl" else Qwen2_5_VLForConditionalGeneration
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = cls(config)
    return model.eval()


def tiny_qwen_vl(kind: str = "qwen3_vl", seed: int = 0, **options: Any) -> Any:
    """A QwenVLTeacher around a random-weight tiny model and the in-memory tokenizer (CPU, fp32).
    `options` override QwenVLConfig fields (frames, max_pixels, ...)."""
    from vlmteach.teachers.qwen_vl import QwenVLConfig, QwenVLTeacher

    tokenizer = tiny_tokenizer()
    model = tiny_model(kind, seed, tokenizer)
    defaults: dict[str, Any] = dict(frames=8, max_pixels=64 * 64, min_pixels=32 * 32, dtype="fp32", device="cpu", max_new_tokens=16)
    return QwenVLTeacher(model, tokenizer, QwenVLConfig(**{**defaults, **options}))


def from_spec(path: str | Path | None = None) -> Any:
    """The "qwen_vl_tiny" backend, for checking the code path: `path` = "[qwen3_vl|qwen2_5_vl][,key=value,...]"
    (QwenVLConfig fields)."""
    from vlmteach.teachers.qwen_vl import QwenVLConfig

    kind, given = parse_spec_options(str(path or "qwen3_vl"), QwenVLConfig, "qwen_vl_tiny", "a kind (qwen3_vl, qwen2_5_vl)")
    return tiny_qwen_vl(kind, **given)


# `vlmteach doctor --backend qwen_vl --tiny`: both kinds, as (label, builder) pairs (see teachers/registry.py)
TINY_CHECKS: tuple[tuple[str, Callable[[], Any]], ...] = tuple((kind, partial(tiny_qwen_vl, kind))
                                                               for kind in ("qwen2_5_vl", "qwen3_vl"))
