"""Differentiable Qwen-VL preprocessing in pure torch: resize, normalise and patchify frames exactly
as the official Qwen2-VL / Qwen3-VL image and video processors lay them out, so that gradients flow
from the VLM's answer back to the pixels (the official processors go through PIL or torchvision).

Resizing uses `F.interpolate(mode="bicubic", antialias=True)`: the official processors resample with
BICUBIC (PIL for images, torchvision for videos), and torch's antialiased bicubic kernel is the same
filter as PIL's (a = -0.5, support widened by the scale when shrinking). The processors work on uint8,
so they round and clamp after resizing; we clamp to [0, 1] but keep full precision (measured against
the PIL processor in tests/teachers/test_qwen_pixels.py: at most one uint8 step of difference).

Row order of the patch matrix (the vision tower's input): (t-group, h-block of m patches, w-block of
m patches, h within block, w within block), each row the flattened (C, temporal_patch, p, p) cube.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from vlmteach.errors import VlmteachError

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
HALF = (0.5, 0.5, 0.5)


@dataclass(frozen=True)
class PixelSpec:
    """Patch geometry, normalisation and pixel budget of one Qwen-VL vision tower."""

    patch_size: int
    merge_size: int = 2
    temporal_patch_size: int = 2
    mean: tuple[float, float, float] = CLIP_MEAN
    std: tuple[float, float, float] = CLIP_STD
    min_pixels: int = 56 * 56
    max_pixels: int = 28 * 28 * 1280

    @property
    def factor(self) -> int:
        """Side lengths must be multiples of this (patch * merge): 28 for Qwen2.5-VL, 32 for Qwen3-VL."""
        return self.patch_size * self.merge_size

    @classmethod
    def qwen2_5_vl(cls) -> PixelSpec:
        """Qwen2.5-VL: 14-pixel patches, CLIP normalisation, the released image processor's pixel range."""
        return cls(14, 2, 2, CLIP_MEAN, CLIP_STD, 56 * 56, 12845056)

    @classmethod
    def qwen3_vl(cls) -> PixelSpec:
        """Qwen3-VL: 16-pixel patches, mean = std = 0.5, the released image processor's pixel range."""
        return cls(16, 2, 2, HALF, HALF, 65536, 16777216)

    @classmethod
    def from_config(cls, config: Any) -> PixelSpec:
        """The spec of a loaded transformers Qwen2.5-VL / Qwen3-VL config: geometry from its vision
        config, normalisation and pixel range from the family (they live in the processor, not the model)."""
        families = {"qwen2_5_vl": cls.qwen2_5_vl, "qwen3_vl": cls.qwen3_vl}
        model_type = getattr(config, "model_type", None)
        if model_type not in families:
            raise VlmteachError(f"no pixel spec for model_type {model_type!r}; supported: {', '.join(families)}")
        base, vision = families[model_type](), config.vision_config
        return cls(int(vision.patch_size), int(vision.spatial_merge_size), int(vision.temporal_patch_size), base.mean, base.std,
                   base.min_pixels, base.max_pixels)


def target_size(h: int, w: int, spec: PixelSpec, max_pixels: int | None = None, min_pixels: int | None = None) -> tuple[int, int]:
    """The official `smart_resize` rule: the size nearest (h, w) whose sides are multiples of p * m and whose
    area lies within [min_pixels, max_pixels] (the spec's, unless given), keeping the aspect ratio."""
    factor = spec.factor
    lo = spec.min_pixels if min_pixels is None else min_pixels
    hi = spec.max_pixels if max_pixels is None else max_pixels
    if h < 1 or w < 1:
        raise VlmteachError(f"frame size must be positive, got {h}x{w}")
    if max(h, w) / min(h, w) > 200:
        raise VlmteachError(f"aspect ratio must be below 200, got {h}x{w}")
    if hi < factor * factor:
        raise VlmteachError(f"max_pixels must be at least {factor * factor} (one {factor}x{factor} block), got {hi}")
    h_bar, w_bar = round(h / factor) * factor, round(w / factor) * factor
    if h_bar * w_bar > hi:
        beta = math.sqrt(h * w / hi)
        h_bar = max(factor, math.floor(h / beta / factor) * factor)
        w_bar = max(factor, math.floor(w / beta / factor) * factor)
    elif h_bar * w_bar < lo:
        beta = math.sqrt(lo / (h * w))
        h_bar, w_bar = math.ceil(h * beta / factor) * factor, math.ceil(w * beta / factor) * factor
    return h_bar, w_bar


def resize(frames: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(T, 3, H, W) in [0, 1] -> (T, 3, *size): antialiased bicubic (the processors' BICUBIC), clamped."""
    if tuple(frames.shape[-2:]) == tuple(size):
        return frames
    out = F.interpolate(frames.float(), size=size, mode="bicubic", antialias=True, align_corners=False)
    return out.clamp(0.0, 1.0)


def patchify(frames: torch.Tensor, spec: PixelSpec) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised (T, C, H, W) -> (rows, C * tps * p * p) patch matrix and grid (1, 3) = [[T/tps, H/p, W/p]].
    T is padded to a multiple of temporal_patch_size by repeating the last frame."""
    p, m, tps = spec.patch_size, spec.merge_size, spec.temporal_patch_size
    t, c, h, w = frames.shape
    if h % spec.factor or w % spec.factor:
        raise VlmteachError(f"frame size {h}x{w} must be a multiple of {spec.factor}; use target_size()")
    if pad := -t % tps:
        frames = torch.cat([frames, frames[-1:].expand(pad, -1, -1, -1)])
        t += pad
    gt, gh, gw = t // tps, h // p, w // p
    x = frames.reshape(gt, tps, c, gh // m, m, p, gw // m, m, p)
    x = x.permute(0, 3, 6, 4, 7, 2, 1, 5, 8)  # gt, h-block, w-block, h-in-block, w-in-block, C, tps, p, p
    rows = x.reshape(gt * gh * gw, c * tps * p * p)
    return rows, torch.tensor([[gt, gh, gw]], dtype=torch.long, device=frames.device)


def normalize(frames: torch.Tensor, spec: PixelSpec) -> torch.Tensor:
    """(x - mean) / std per channel, for (T, 3, H, W) in [0, 1]."""
    mean = torch.tensor(spec.mean, dtype=frames.dtype, device=frames.device)[:, None, None]
    std = torch.tensor(spec.std, dtype=frames.dtype, device=frames.device)[:, None, None]
    return (frames - mean) / std


def video_inputs(frames: torch.Tensor, spec: PixelSpec, size: tuple[int, int] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(T, 3, H, W) in [0, 1] -> (pixel_values_videos, video_grid_thw), differentiable w.r.t. frames.
    `size` defaults to target_size(H, W, spec)."""
    if frames.ndim != 4 or frames.shape[1] != 3:
        raise VlmteachError(f"frames must be (T, 3, H, W), got {tuple(frames.shape)}")
    size = size or target_size(frames.shape[-2], frames.shape[-1], spec)
    return patchify(normalize(resize(frames.float(), size), spec), spec)


def image_inputs(image: torch.Tensor, spec: PixelSpec, size: tuple[int, int] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(3, H, W) in [0, 1] -> (pixel_values, image_grid_thw) as the image processor makes them: one frame,
    repeated over the temporal patch."""
    if image.ndim != 3 or image.shape[0] != 3:
        raise VlmteachError(f"an image must be (3, H, W), got {tuple(image.shape)}")
    return video_inputs(image[None], spec, size)
