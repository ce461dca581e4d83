"""A generic ground-truth-comparison score for tasks that have no rule-based scorer here (e.g. the
official VBVR-Bench tasks): how close the first and last frames are to first_frame.png and
final_frame.png, and whether the video changes smoothly. Labelled as such in every result."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from vlmteach.tasks.base import W_FIRST, W_GOAL, W_PROCESS, Score

SCORER = "generic-gt-comparison"
COMPARE_SIZE = (64, 64)
PSNR_RANGE = (12.0, 32.0)  # dB mapped linearly to [0, 1]: below is unrelated, above is a match


def _small(frames: torch.Tensor) -> torch.Tensor:
    return F.interpolate(frames.float(), size=COMPARE_SIZE, mode="area")


def image_similarity(a: torch.Tensor, b: torch.Tensor) -> float:
    """PSNR of two (3, H, W) images at a common size, mapped to [0, 1]."""
    mse = F.mse_loss(_small(a[None]), _small(b[None])).item()
    psnr = 10 * math.log10(1.0 / max(mse, 1e-10))
    lo, hi = PSNR_RANGE
    return float(min(1.0, max(0.0, (psnr - lo) / (hi - lo))))


def temporal_smoothness(frames: torch.Tensor) -> float:
    """1 for a video whose frame-to-frame change never spikes far above its typical change. A cut
    or a teleport (one transition carrying most of the video's change) drives it towards 0."""
    if frames.shape[0] < 3:
        return 1.0
    x = _small(frames)
    d = (x[1:] - x[:-1]).abs().mean(dim=(1, 2, 3))
    total = d.sum().item()
    if total < 1e-3:  # (nearly) static: nothing to judge
        return 1.0
    spike = (d.max() - 3 * d.median()).clamp(min=0).item()
    return float(1.0 - min(1.0, spike / total))


def generic_score(frames: torch.Tensor, first_frame: torch.Tensor | None,
                  final_frame: torch.Tensor | None) -> Score:
    """Score video frames (T, 3, H, W) against reference first/final frames (3, H, W)."""
    parts: dict[str, float] = {}
    if final_frame is not None:
        parts["final_frame_accuracy"] = image_similarity(frames[-1], final_frame)
    parts["temporal_smoothness"] = temporal_smoothness(frames)
    if first_frame is not None:
        parts["first_frame"] = image_similarity(frames[0], first_frame)
    weights = {"final_frame_accuracy": W_GOAL, "temporal_smoothness": W_PROCESS, "first_frame": W_FIRST}
    total = sum(weights[k] * v for k, v in parts.items()) / sum(weights[k] for k in parts)
    return Score(round(total, 6), parts, SCORER)
