"""Between grid states and pixels: render tile codes to a Video, classify any Video back to tiles.

Native geometry: cells of CELL x CELL pixels, so an 8x8 grid is a 32x32 video. Reading accepts any
size and frame count: frames are resized to the native grid by area averaging, and each cell's ring
and centre are classified to the nearest palette colour, so mild noise or compression is harmless.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from vlmteach.tasks.palette import PALETTE_SIZE, RGB
from vlmteach.video import DEFAULT_FPS, Video, uniform_indices

CELL = 4
MAX_READ_FRAMES = 64  # longer videos are sampled uniformly down to this many frames for scoring

_INNER = np.zeros((CELL, CELL), dtype=bool)
_INNER[1:-1, 1:-1] = True


def _tile_bitmaps() -> np.ndarray:
    """(PALETTE_SIZE**2, CELL, CELL, 3) float pixels of every tile code."""
    codes = np.arange(PALETTE_SIZE * PALETTE_SIZE)
    outer, inner = codes // PALETTE_SIZE, codes % PALETTE_SIZE
    rgb = np.zeros((PALETTE_SIZE, 3), dtype=np.float32)
    rgb[: len(RGB)] = RGB
    bitmaps = np.empty((len(codes), CELL, CELL, 3), dtype=np.float32)
    bitmaps[:] = rgb[outer][:, None, None, :]
    bitmaps[:, _INNER] = rgb[inner][:, None, :]
    return bitmaps


_BITMAPS = _tile_bitmaps()


def render(states: np.ndarray, fps: float = DEFAULT_FPS) -> Video:
    """Grid states (T, H, W) of tile codes -> Video (T, 3, H*CELL, W*CELL)."""
    states = np.asarray(states)
    if states.ndim == 2:
        states = states[None]
    t, h, w = states.shape
    pixels = _BITMAPS[states]  # (T, H, W, c, c, 3)
    pixels = pixels.transpose(0, 5, 1, 3, 2, 4).reshape(t, 3, h * CELL, w * CELL)
    return Video(torch.from_numpy(np.ascontiguousarray(pixels)), fps)


def render_frame(state: np.ndarray) -> torch.Tensor:
    """One grid state (H, W) -> image (3, H*CELL, W*CELL)."""
    return render(state[None]).frames[0]


def _resize(frames: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if tuple(frames.shape[-2:]) == size:
        return frames
    if frames.shape[-2] >= size[0] and frames.shape[-1] >= size[1]:
        return F.interpolate(frames, size=size, mode="area")
    return F.interpolate(frames, size=size, mode="bilinear", align_corners=False)


def _nearest_colour(rgb: torch.Tensor) -> torch.Tensor:
    """(..., 3) colours -> (...) palette indices."""
    palette = torch.from_numpy(RGB)
    d = ((rgb[..., None, :] - palette) ** 2).sum(-1)
    return d.argmin(-1)


def classify_frames(frames: torch.Tensor, grid: tuple[int, int]) -> np.ndarray:
    """Frames (T, 3, h, w) of any size -> tile codes (T, H, W) on a grid of H x W cells."""
    h, w = grid
    x = _resize(frames.detach().float(), (h * CELL, w * CELL))
    t = x.shape[0]
    cells = x.reshape(t, 3, h, CELL, w, CELL).permute(0, 2, 4, 3, 5, 1)  # (T, H, W, c, c, 3)
    inner_mask = torch.from_numpy(_INNER)
    inner = cells[:, :, :, inner_mask].mean(3)
    outer = cells[:, :, :, ~inner_mask].mean(3)
    codes = _nearest_colour(outer) * PALETTE_SIZE + _nearest_colour(inner)
    return codes.numpy()


def read_states(video: Video, grid: tuple[int, int], max_frames: int = MAX_READ_FRAMES) -> np.ndarray:
    """Classify a video of any size and length to grid states (T', H, W), T' <= max_frames."""
    frames = video.frames
    if frames.shape[0] > max_frames:
        frames = frames[uniform_indices(frames.shape[0], max_frames)]
    return classify_frames(frames, grid)
