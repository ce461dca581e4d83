"""A generic ground-truth-comparison score for tasks that have no rule-based scorer here (e.g. the
official VBVR-Bench tasks). Labelled as such in every result. It measures:

- final_frame_accuracy: the last frame against final_frame.png (PSNR at 64x64, mapped to [0, 1]);
- first_frame: the first frame against first_frame.png;
- temporal_smoothness: no single transition carrying most of the change (a cut, a teleport); with a
  ground-truth video, only a lack of smoothness beyond the ground truth's own counts (its pauses and
  holds are not held against it);
- path_agreement (with a ground-truth video): the two videos' frames compared at matching moments
  (one per frame of the longer video, at most 64), so that a video that reaches the right end by
  another route (through a wall, say) scores below the ground truth.

What it cannot do: know the task's rules. A valid route other than the ground truth's loses
path_agreement; a video that follows the ground truth's route with the wrong timing loses some too;
a rule broken without visible change in those frames goes unseen. It ranks videos of one sample by
closeness to the ground truth, and is not the benchmark's metric."""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F

from vlmteach.tasks.base import W_FIRST, W_GOAL, W_PROCESS, Score
from vlmteach.video.io import read_video_small

SCORER = "generic-gt-comparison"
COMPARE_SIZE = (64, 64)
PSNR_RANGE = (12.0, 32.0)  # dB mapped linearly to [0, 1]: below is unrelated, above is a match
MAX_MOMENTS = 64  # at most this many moments (relative times) at which a video meets the ground truth
STILL = 0.05  # a transition changing less than this share of the largest one is a pause, not a move


def _small(frames: torch.Tensor) -> torch.Tensor:
    return F.interpolate(frames.float(), size=COMPARE_SIZE, mode="area")


def image_similarity(a: torch.Tensor, b: torch.Tensor) -> float:
    """PSNR of two (3, H, W) images at a common size, mapped to [0, 1]."""
    mse = F.mse_loss(_small(a[None]), _small(b[None])).item()
    return _psnr_score(mse)


def _psnr_score(mse: float) -> float:
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
    moving = d[d > STILL * d.max()]  # pauses and holds say nothing about jumps
    if moving.numel() == 1:  # the whole change in one transition: a cut
        return 0.0
    spike = (moving.max() - 3 * moving.median()).clamp(min=0).item()
    return float(1.0 - min(1.0, spike / moving.sum().item()))


def path_agreement(frames: torch.Tensor, reference: torch.Tensor) -> float:
    """Mean similarity of the two videos' frames at matching relative times: one moment per frame of
    the longer video (at most MAX_MOMENTS), so that a rule broken in a single frame is seen."""
    a, b = _small(frames), _small(reference)
    moments = min(MAX_MOMENTS, max(a.shape[0], b.shape[0], 2))
    sims = []
    for k in range(moments):
        t = k / (moments - 1)
        i, j = round(t * (a.shape[0] - 1)), round(t * (b.shape[0] - 1))
        sims.append(_psnr_score(F.mse_loss(a[i], b[j]).item()))
    return float(sum(sims) / len(sims))


def generic_score(frames: torch.Tensor, first_frame: torch.Tensor | None,
                  final_frame: torch.Tensor | None, ground_truth: str | Path | torch.Tensor | None = None) -> Score:
    """Score video frames (T, 3, H, W) against reference first/final frames (3, H, W) and, when
    given, a ground-truth video (a path, read at the comparison size, or frames)."""
    parts: dict[str, float] = {}
    if final_frame is not None:
        parts["final_frame_accuracy"] = image_similarity(frames[-1], final_frame)
    smooth = temporal_smoothness(frames)
    weights = {"final_frame_accuracy": W_GOAL, "temporal_smoothness": W_PROCESS, "first_frame": W_FIRST}
    if ground_truth is not None:
        gt = (read_video_small(ground_truth, COMPARE_SIZE).frames if isinstance(ground_truth, (str, Path))
              else ground_truth)
        smooth = 1.0 - max(0.0, temporal_smoothness(gt) - smooth)  # only roughness beyond the ground truth's
        parts["path_agreement"] = path_agreement(frames, gt)
        weights["temporal_smoothness"] = weights["path_agreement"] = W_PROCESS / 2
    parts["temporal_smoothness"] = smooth
    if first_frame is not None:
        parts["first_frame"] = image_similarity(frames[0], first_frame)
    total = sum(weights[k] * v for k, v in parts.items()) / sum(weights[k] for k in parts)
    return Score(round(total, 6), parts, SCORER)
