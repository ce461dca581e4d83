"""The torch Qwen-VL preprocessing against the official processors: the smart_resize rule, the PIL
image processor (resize + normalise + patchify) and the video processor's patch order."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from vlmteach.errors import VlmteachError
from vlmteach.teachers.qwen_pixels import PixelSpec, image_inputs, patchify, target_size, video_inputs

pytest.importorskip("transformers")
SPECS = {"qwen2_5_vl": PixelSpec.qwen2_5_vl(), "qwen3_vl": PixelSpec.qwen3_vl()}


def _pil_processor(spec: PixelSpec):
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    return Qwen2VLImageProcessorPil(patch_size=spec.patch_size, merge_size=spec.merge_size,
                                    temporal_patch_size=spec.temporal_patch_size, image_mean=list(spec.mean),
                                    image_std=list(spec.std), min_pixels=spec.min_pixels, max_pixels=spec.max_pixels)


def _smooth_image(h: int, w: int, seed: int) -> torch.Tensor:
    """A uint8 (3, h, w) image with natural-image-like smoothness (bilinear upsampling of coarse noise)."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, 3, h // 4 + 1, w // 4 + 1, generator=g)
    return (F.interpolate(coarse, size=(h, w), mode="bilinear")[0] * 255).round().to(torch.uint8)


@pytest.mark.parametrize("kind", SPECS)
def test_target_size_is_the_official_smart_resize(kind):
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import smart_resize

    spec = SPECS[kind]
    for h, w in [(64, 64), (100, 150), (300, 500), (480, 832), (90, 40), (20, 3000), (4000, 3000), (33, 33)]:
        for lo, hi in [(None, None), (4096, 448 * 448), (32 * 32, 64 * 64)]:
            expected = smart_resize(h, w, spec.factor, lo or spec.min_pixels, hi or spec.max_pixels)
            assert target_size(h, w, spec, max_pixels=hi, min_pixels=lo) == expected, (h, w, lo, hi)
    assert target_size(480, 832, spec, max_pixels=448 * 448)[0] % spec.factor == 0


@pytest.mark.parametrize("kind", SPECS)
def test_image_inputs_match_the_pil_image_processor(kind):
    """Same grid; the pixels differ only by the processor's uint8 rounding (PIL resamples in two passes
    through a uint8 image; we keep floats): at most 2/255 on smooth images, exact when no resize is needed."""
    spec = SPECS[kind]
    proc = _pil_processor(spec)
    std = torch.tensor(spec.std).min().item()
    for i, (h, w) in enumerate([(100, 150), (300, 500), (90, 40), (2 * spec.factor * 4, spec.factor * 5)]):
        image = _smooth_image(h, w, seed=i)
        ref = proc(images=[image.permute(1, 2, 0).numpy()], return_tensors="pt")
        pixels, grid = image_inputs(image.float() / 255, spec)
        assert grid.tolist() == ref["image_grid_thw"].tolist()
        diff = (pixels - ref["pixel_values"]).abs() * std  # back in [0, 1] pixel units
        if (h * w) >= spec.min_pixels and h % spec.factor == 0 and w % spec.factor == 0:
            assert diff.max() < 1e-5
        else:
            assert diff.max() <= 2.01 / 255 and diff.mean() < 0.6 / 255


def _official_patchify(frames: torch.Tensor, spec: PixelSpec) -> torch.Tensor:
    """The official video processor's own patchify (pure torch, unlike its resize which needs torchvision)."""
    from transformers.models.qwen3_vl.video_processing_qwen3_vl import Qwen3VLVideoProcessor

    rows, *_ = Qwen3VLVideoProcessor().patchify(frames[None], patch_size=spec.patch_size, merge_size=spec.merge_size,
                                                 temporal_patch_size=spec.temporal_patch_size)
    return rows[0]


def _loop_patchify(frames: torch.Tensor, spec: PixelSpec) -> torch.Tensor:
    """An independent reference of the documented order, with explicit loops and slicing."""
    p, m, tps = spec.patch_size, spec.merge_size, spec.temporal_patch_size
    while frames.shape[0] % tps:
        frames = torch.cat([frames, frames[-1:]])
    t, _, h, w = frames.shape
    rows = []
    for g in range(t // tps):
        for bh in range(h // (p * m)):
            for bw in range(w // (p * m)):
                for ih in range(m):
                    for iw in range(m):
                        y, x = (bh * m + ih) * p, (bw * m + iw) * p
                        cube = frames[g * tps:(g + 1) * tps, :, y:y + p, x:x + p]  # (tps, C, p, p)
                        rows.append(cube.transpose(0, 1).flatten())  # flattened as (C, tps, p, p)
    return torch.stack(rows)


@pytest.mark.parametrize("kind", SPECS)
@pytest.mark.parametrize("t", [4, 5, 1])
def test_patch_order_matches_the_official_video_processor(kind, t):
    spec = SPECS[kind]
    frames = torch.randn(t, 3, spec.factor * 2, spec.factor * 3)
    rows, grid = patchify(frames, spec)
    assert grid.tolist() == [[(t + 1) // 2, 4, 6]]
    assert rows.shape == ((t + 1) // 2 * 24, 3 * 2 * spec.patch_size ** 2)
    assert torch.equal(rows, _official_patchify(frames, spec))
    assert torch.equal(rows, _loop_patchify(frames, spec))
    if t > 1:  # the check can fail: swapping two frames changes the rows
        assert not torch.equal(patchify(frames.flip(0), spec)[0], rows)


@pytest.mark.parametrize("kind", SPECS)
def test_video_inputs_normalise_resize_and_differentiate(kind):
    spec = SPECS[kind]
    frames = torch.rand(3, 3, 50, 70, requires_grad=True)
    pixels, grid = video_inputs(frames, spec, size=(spec.factor, 2 * spec.factor))
    assert grid.tolist() == [[2, 2, 4]]
    # normalisation: a mid-grey video maps to (0.5 - mean) / std everywhere
    grey, _ = video_inputs(torch.full((2, 3, spec.factor, spec.factor), 0.5), spec)
    expected = ((0.5 - torch.tensor(spec.mean)) / torch.tensor(spec.std)).repeat_interleave(2 * spec.patch_size ** 2)
    assert torch.allclose(grey[0], expected, atol=1e-6)
    (pixels * torch.randn_like(pixels)).sum().backward()
    assert frames.grad is not None and frames.grad.abs().sum() > 0 and torch.isfinite(frames.grad).all()


@pytest.mark.parametrize("kind", SPECS)
def test_image_is_a_one_frame_video(kind):
    spec = SPECS[kind]
    image = torch.rand(3, 64, 96)
    pixels, grid = image_inputs(image, spec)
    vpixels, vgrid = video_inputs(torch.stack([image, image]), spec)
    assert grid.tolist() == vgrid.tolist() and grid[0, 0] == 1
    assert torch.equal(pixels, vpixels)


def test_spec_from_model_config_and_errors():
    from vlmteach.teachers.qwen_tiny import qwen_vl_config

    assert PixelSpec.from_config(qwen_vl_config("qwen3_vl", "4b")) == PixelSpec.qwen3_vl()
    assert PixelSpec.from_config(qwen_vl_config("qwen2_5_vl", "7b")) == PixelSpec.qwen2_5_vl()
    with pytest.raises(VlmteachError, match="qwen2_5_vl, qwen3_vl"):
        PixelSpec.from_config(type("C", (), {"model_type": "llava"})())
    with pytest.raises(VlmteachError, match="max_pixels"):
        target_size(64, 64, PixelSpec.qwen3_vl(), max_pixels=100)
    with pytest.raises(VlmteachError, match="multiple of 32"):
        patchify(torch.zeros(2, 3, 48, 64), PixelSpec.qwen3_vl())
    with pytest.raises(VlmteachError, match=r"\(T, 3, H, W\)"):
        video_inputs(torch.zeros(2, 64, 64), PixelSpec.qwen3_vl())
    assert np.isclose(PixelSpec.qwen2_5_vl().mean[0], 0.48145466)
