"""The videos of report.html as small data URIs: a looping GIF and a strip of frames per clip."""

from __future__ import annotations

import base64
from pathlib import Path

import torch

from vlmteach.video import Video, read_video, uniform_indices, write_image, write_video

STRIP_FRAMES = 5  # frames of the strip under each clip: what happened, even where GIFs do not play
GIF_WIDTH = 128  # px: small enough for a page of hundreds of clips, large enough to read 32 px tasks
GIF_MAX_FRAMES = 32  # long clips (large reasoners) are subsampled so one GIF stays small


def _data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _clip_uris(path: Path, tmp: Path) -> tuple[str, str]:
    """(looping GIF, strip of STRIP_FRAMES frames as PNG) data URIs of a video, about GIF_WIDTH wide."""
    video = read_video(path)
    return _gif_uri(video, tmp), _strip_uri(video, tmp)


def _thumbnail(frames: torch.Tensor) -> torch.Tensor:
    """Area-averaged to a quarter of the shown width; the browser upscales it (class "px", pixelated).
    The codec's noise averages out and a GIF is ~10x smaller than at full width."""
    side = max(8, GIF_WIDTH // 4)
    if frames.shape[3] <= side:
        return frames
    size = (max(1, round(frames.shape[2] * side / frames.shape[3])), side)
    return torch.nn.functional.interpolate(frames, size=size, mode="area")


def _strip_uri(video: Video, tmp: Path) -> str:
    """Evenly spaced frames side by side, first and last included, separated by a white line."""
    frames = _thumbnail(video.frames[uniform_indices(video.frames.shape[0], min(STRIP_FRAMES, video.frames.shape[0]))])
    gap = torch.ones(3, frames.shape[2], 1)
    strip = torch.cat([t for f in frames for t in (f, gap)][:-1], dim=2)
    out = write_image(strip, tmp / "strip.png")
    return _data_uri(out.read_bytes(), "image/png")


def _gif_uri(video: Video, tmp: Path) -> str:
    """The video as a small looping GIF: nearest-neighbour resized to about GIF_WIDTH pixels wide."""
    frames, fps = video.frames, video.fps
    if frames.shape[0] > GIF_MAX_FRAMES:
        fps *= GIF_MAX_FRAMES / frames.shape[0]
        frames = frames[uniform_indices(frames.shape[0], GIF_MAX_FRAMES)]
    out = write_video(Video(_thumbnail(frames), fps), tmp / "clip.gif")
    return _data_uri(out.read_bytes(), "image/gif")
