"""The one video convention: float frames (T, C=3, H, W) in [0, 1] plus a frame rate."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from vlmteach.errors import VideoError

DEFAULT_FPS = 8.0


@dataclass
class Video:
    """A clip: `frames` is a float tensor (T, 3, H, W) with values in [0, 1]; `fps` its frame rate."""

    frames: torch.Tensor
    fps: float = DEFAULT_FPS

    def __post_init__(self) -> None:
        f = self.frames
        if not isinstance(f, torch.Tensor) or f.ndim != 4 or f.shape[1] != 3:
            shape = tuple(f.shape) if hasattr(f, "shape") else type(f).__name__
            raise VideoError(f"video frames must be a tensor of shape (T, 3, H, W), got {shape}")
        if f.shape[0] < 1:
            raise VideoError("video has no frames")
        if not f.is_floating_point():
            raise VideoError(f"video frames must be float in [0, 1], got dtype {f.dtype}")
        if self.fps <= 0:
            raise VideoError(f"fps must be positive, got {self.fps}")

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) in pixels."""
        return int(self.frames.shape[2]), int(self.frames.shape[3])

    def to_uint8(self) -> np.ndarray:
        """Frames as a uint8 array (T, H, W, 3), for writers and viewers."""
        return to_uint8(self.frames)

    @classmethod
    def from_uint8(cls, array: np.ndarray, fps: float = DEFAULT_FPS) -> Video:
        """Build from a uint8 array (T, H, W, 3) as image libraries return it."""
        return cls(from_uint8(array), fps)


def to_uint8(frames: torch.Tensor) -> np.ndarray:
    """(T, 3, H, W) float in [0, 1] -> (T, H, W, 3) uint8."""
    x = frames.detach().float().clamp(0, 1).mul(255).round().to(torch.uint8)
    return x.permute(0, 2, 3, 1).contiguous().cpu().numpy()


def from_uint8(array: np.ndarray) -> torch.Tensor:
    """(T, H, W, 3) uint8 -> (T, 3, H, W) float in [0, 1]."""
    array = np.ascontiguousarray(array)
    if not array.flags.writeable:  # decoders may hand out read-only buffers
        array = array.copy()
    return torch.from_numpy(array).permute(0, 3, 1, 2).float().div(255)


def uniform_indices(num_frames: int, k: int) -> list[int]:
    """k frame indices spread uniformly over [0, num_frames - 1], first and last included."""
    if num_frames < 1 or k < 1:
        raise VideoError(f"cannot sample {k} frames from a video of {num_frames} frames")
    if k == 1:
        return [num_frames - 1]
    return torch.linspace(0, num_frames - 1, k).round().long().tolist()


def sample_frames(frames: torch.Tensor, k: int) -> torch.Tensor:
    """k frames sampled uniformly from (T, C, H, W) frames; all of them when k >= T. Differentiable."""
    if k >= frames.shape[0]:
        return frames
    return frames[uniform_indices(frames.shape[0], k)]


def upscale(video: Video, factor: int) -> Video:
    """Nearest-neighbour upscaling by an integer factor, so small videos stay crisp when viewed."""
    if factor < 1:
        raise VideoError(f"upscale factor must be a positive integer, got {factor}")
    if factor == 1:
        return video
    frames = video.frames.repeat_interleave(factor, dim=2).repeat_interleave(factor, dim=3)
    return Video(frames, video.fps)
