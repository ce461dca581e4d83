"""Random-weight Wan models built in memory: tiny ones for tests and `vlmteach doctor --backend wan
--tiny`, and ones with the published dimensions for `benchmarks/step_cost.py` on a GPU. The real
dimensions are copied from the public diffusers configs; the weights are random, so only cost is
meaningful."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import torch

from vlmteach.errors import VlmteachError
from vlmteach.nn.hf_tokenizer import byte_tokenizer
from vlmteach.reasoners.wan import KINDS, WanOptions, WanParts, WanReasoner
from vlmteach.specs import parse_spec_options

SIZES = ("tiny", "real")
# Published dimensions (diffusers configs of Wan-AI/Wan2.1-I2V-14B-480P-Diffusers and
# Wan-AI/Wan2.2-TI2V-5B-Diffusers).
REAL = {
    "wan2.1-i2v": {
        "transformer": dict(patch_size=(1, 2, 2), num_attention_heads=40, attention_head_dim=128, in_channels=36,
                            out_channels=16, text_dim=4096, freq_dim=256, ffn_dim=13824, num_layers=40,
                            image_dim=1280, added_kv_proj_dim=5120),
        "vae": dict(base_dim=96, z_dim=16),
        "text": dict(d_model=4096, d_kv=64, d_ff=10240, num_layers=24, num_heads=64),
        "image": dict(hidden_size=1280, intermediate_size=5120, num_hidden_layers=32, num_attention_heads=16,
                      image_size=224, patch_size=14),
    },
    "wan2.2-ti2v": {
        "transformer": dict(patch_size=(1, 2, 2), num_attention_heads=24, attention_head_dim=128, in_channels=48,
                            out_channels=48, text_dim=4096, freq_dim=256, ffn_dim=14336, num_layers=30),
        "vae": dict(base_dim=160, decoder_base_dim=256, z_dim=48, is_residual=True, in_channels=12, out_channels=12,
                    patch_size=2, scale_factor_spatial=16),
        "text": dict(d_model=4096, d_kv=64, d_ff=10240, num_layers=24, num_heads=64),
    },
}
TINY = {
    "wan2.1-i2v": {
        "transformer": dict(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=36,
                            out_channels=16, text_dim=32, freq_dim=32, ffn_dim=48, num_layers=2, image_dim=16,
                            added_kv_proj_dim=24),
        "vae": dict(base_dim=8, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1),
        "text": dict(d_model=32, d_kv=8, d_ff=64, num_layers=1, num_heads=4),
        "image": dict(hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2,
                      image_size=32, patch_size=8),
    },
    "wan2.2-ti2v": {
        "transformer": dict(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=8,
                            out_channels=8, text_dim=32, freq_dim=32, ffn_dim=48, num_layers=2),
        "vae": dict(base_dim=8, decoder_base_dim=8, z_dim=8, dim_mult=[1, 1, 1, 1], num_res_blocks=1, is_residual=True,
                    in_channels=12, out_channels=12, patch_size=2, scale_factor_spatial=16),
        "text": dict(d_model=32, d_kv=8, d_ff=64, num_layers=1, num_heads=4),
    },
}
TINY_SIZE = {"wan2.1-i2v": (32, 32, 5), "wan2.2-ti2v": (64, 64, 5)}  # height, width, frames of a tiny run


def wan_dims(kind: str, size: str = "tiny") -> dict[str, dict[str, Any]]:
    """Constructor arguments of each part for a kind (wan2.1-i2v | wan2.2-ti2v) and size (tiny | real)."""
    if kind not in KINDS:
        raise VlmteachError(f"unknown Wan kind {kind!r}; valid: {', '.join(KINDS)}")
    if size not in SIZES:
        raise VlmteachError(f"unknown size {size!r}; valid: {', '.join(SIZES)}")
    return (TINY if size == "tiny" else REAL)[kind]


def build_parts(kind: str, size: str = "tiny", seed: int = 0, text_encoder: bool = True,
                device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32,
                transformer: dict[str, Any] | None = None) -> WanParts:
    """Random-weight parts (seeded), made directly on `device` and cast to `dtype`. `text_encoder=False`
    skips the UMT5 encoder (5.7B at real size); then pass prompt embeddings to `condition(..., text=...)`.
    `transformer` overrides transformer arguments (e.g. num_layers for a scaled-down cost run)."""
    with torch.device(device):
        parts = _build(kind, size, seed, text_encoder, transformer or {})
    for module in (parts.transformer, parts.vae, parts.text_encoder, parts.image_encoder):
        if module is not None and dtype != torch.float32:
            module.to(dtype=dtype)
    return parts


def _build(kind: str, size: str, seed: int, text_encoder: bool, overrides: dict[str, Any]) -> WanParts:
    from diffusers import AutoencoderKLWan, WanTransformer3DModel
    from transformers import CLIPVisionConfig, CLIPVisionModel, UMT5Config, UMT5EncoderModel

    dims = wan_dims(kind, size)
    torch.manual_seed(seed)
    vae_kw = dict(dims["vae"])
    z = vae_kw["z_dim"]
    vae_kw.setdefault("latents_mean", [0.0] * z)
    vae_kw.setdefault("latents_std", [1.0] * z)
    if size == "tiny":  # random latents have no scale; these keep a tiny VAE's latents near unit variance
        vae_kw["latents_mean"], vae_kw["latents_std"] = [0.0] * z, [0.5] * z
    parts = WanParts(WanTransformer3DModel(**{**dims["transformer"], **overrides}), AutoencoderKLWan(**vae_kw))
    if text_encoder:
        parts.tokenizer = byte_tokenizer(("<pad>", "</s>"), eos="</s>", pad="<pad>")
        cfg = UMT5Config(vocab_size=len(parts.tokenizer), pad_token_id=parts.tokenizer.pad_token_id,
                         eos_token_id=parts.tokenizer.eos_token_id, decoder_start_token_id=0, **dims["text"])
        parts.text_encoder = UMT5EncoderModel(cfg)
    if "image" in dims:
        parts.image_encoder = CLIPVisionModel(CLIPVisionConfig(**dims["image"]))
    return parts


def tiny_wan(kind: str = "wan2.2-ti2v", seed: int = 0, **options: Any) -> WanReasoner:
    """A tiny random Wan reasoner (well under a second per step on a CPU) with a short prompt length."""
    h, w, f = TINY_SIZE[kind]
    opts = {"height": h, "width": w, "frames": f, "text_len": 16, "device": "cpu", **options}
    return WanReasoner(build_parts(kind, "tiny", seed), WanOptions(**opts))


def from_spec(path: str | Path | None = None) -> WanReasoner:
    """The "wan_tiny" backend, for plumbing checks: `path` = "[KIND][,key=value,...]" (WanOptions fields)."""
    kind, given = parse_spec_options(str(path or "wan2.2-ti2v"), WanOptions, "wan_tiny", "a Wan kind (wan2.1-i2v, wan2.2-ti2v)")
    return tiny_wan(kind, **given)


# `vlmteach doctor --backend wan --tiny`: every kind, as (label, builder) pairs (see reasoners/registry.py)
TINY_CHECKS: tuple[tuple[str, Callable[[], WanReasoner]], ...] = tuple((kind, partial(tiny_wan, kind)) for kind in KINDS)


def save_folder(parts: WanParts, folder: str) -> str:
    """Write parts as a diffusers-format model folder (what `WanReasoner.from_pretrained` reads)."""
    parts.transformer.save_pretrained(f"{folder}/transformer")
    parts.vae.save_pretrained(f"{folder}/vae")
    if parts.text_encoder is not None:
        parts.text_encoder.save_pretrained(f"{folder}/text_encoder")
        parts.tokenizer.save_pretrained(f"{folder}/tokenizer")
    if parts.image_encoder is not None:
        parts.image_encoder.save_pretrained(f"{folder}/image_encoder")
    return folder
