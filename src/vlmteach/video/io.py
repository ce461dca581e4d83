"""Read and write videos (mp4 as H.264, gif) and images (png), with errors that name the file."""

from __future__ import annotations

from pathlib import Path

import imageio.v2 as imageio
import numpy as np
import torch
from PIL import Image

from vlmteach.errors import VideoError
from vlmteach.video.tensor import DEFAULT_FPS, Video, from_uint8, to_uint8, upscale

VIDEO_SUFFIXES = (".mp4", ".gif")
IMAGE_SUFFIXES = (".png",)


def read_video(path: str | Path) -> Video:
    """Read an .mp4, a .gif, a single .png (one frame) or a folder of .png frames (sorted by name)."""
    path = Path(path)
    if not path.exists():
        raise VideoError(f"{path}: no such file")
    if path.is_dir():
        pngs = sorted(path.glob("*.png"))
        if not pngs:
            raise VideoError(f"{path}: folder holds no .png frames")
        return Video(torch.stack([read_image(p) for p in pngs]))
    suffix = path.suffix.lower()
    if suffix == ".png":
        return Video(read_image(path)[None])
    if suffix not in VIDEO_SUFFIXES:
        raise VideoError(f"{path}: unsupported video format {suffix!r}; use .mp4, .gif, .png or a folder of .png")
    try:
        if suffix == ".mp4":
            array, fps = _read_mp4(path)
        else:
            array, fps = _read_gif(path)
    except VideoError:
        raise
    except Exception as exc:  # decoders raise many types; the user needs the file name, not ffmpeg's build dump
        raise _undecodable(path, exc) from None
    if array.shape[0] == 0:
        raise VideoError(f"{path}: video has no frames")
    return Video(from_uint8(array), fps)


def probe_video(path: str | Path) -> tuple[int, float]:
    """(frame count, fps) of an .mp4 or .gif without decoding it into memory."""
    path = Path(path)
    if not path.is_file():
        raise VideoError(f"{path}: no such file")
    try:
        if path.suffix.lower() == ".gif":
            with Image.open(path) as im:
                n = getattr(im, "n_frames", 1)
                duration = im.info.get("duration") or 1000 / DEFAULT_FPS
            return n, 1000.0 / float(duration)
        with imageio.get_reader(path, format="FFMPEG") as reader:
            fps = float(reader.get_meta_data().get("fps") or DEFAULT_FPS)
            return reader.count_frames(), fps
    except Exception as exc:  # decoders raise many types; the user needs the file name
        raise _undecodable(path, exc) from None


def read_video_small(path: str | Path, size: tuple[int, int]) -> Video:
    """Read a video with every frame area-resized to `size` as it is decoded: a long 1024x1024
    ground truth costs a few MB this way, not gigabytes."""
    path = Path(path)
    if not path.is_file():
        raise VideoError(f"{path}: no such file")
    if path.suffix.lower() != ".mp4":
        video = read_video(path)
        return Video(_shrink(video.frames, size), video.fps)
    try:
        frames, fps = _decode_mp4(path, lambda frame: _shrink(from_uint8(frame[None]), size))
    except Exception as exc:
        raise _undecodable(path, exc) from None
    if not frames:
        raise VideoError(f"{path}: video has no frames")
    return Video(torch.cat(frames), fps)


def _shrink(frames: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return torch.nn.functional.interpolate(frames.float(), size=size, mode="area")


def _undecodable(path: Path, exc: Exception) -> VideoError:
    decoder = "Pillow" if path.suffix.lower() == ".gif" else "ffmpeg"
    return VideoError(f"cannot decode {path}: not a video {decoder} can read ({_first_line(exc)})")


def _first_line(exc: Exception, limit: int = 120) -> str:
    """The first line of an exception's text, shortened: decoders append pages of diagnostics."""
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _rgb(frame: np.ndarray) -> np.ndarray:
    if frame.ndim == 2:
        frame = np.repeat(frame[..., None], 3, axis=2)
    return frame[..., :3]


def _decode_mp4(path: Path, each) -> tuple[list, float]:
    """(each(frame) for every RGB uint8 frame, fps): `each` sees one frame at a time as it is decoded."""
    with imageio.get_reader(path, format="FFMPEG") as reader:
        fps = float(reader.get_meta_data().get("fps") or DEFAULT_FPS)
        return [each(_rgb(f)) for f in reader], fps


def _read_mp4(path: Path) -> tuple[np.ndarray, float]:
    frames, fps = _decode_mp4(path, lambda frame: frame)
    return np.stack(frames) if frames else np.zeros((0, 1, 1, 3), np.uint8), fps


def _read_gif(path: Path) -> tuple[np.ndarray, float]:
    with Image.open(path) as im:
        frames, durations = [], []
        for i in range(getattr(im, "n_frames", 1)):
            im.seek(i)
            frames.append(np.asarray(im.convert("RGB")))
            durations.append(im.info.get("duration", 1000 / DEFAULT_FPS) or 1000 / DEFAULT_FPS)
    fps = 1000.0 / float(np.mean(durations))
    return np.stack(frames), fps


def write_video(video: Video, path: str | Path, scale: int = 1) -> Path:
    """Write .mp4 (H.264, yuv420p) or .gif, optionally upscaled by `scale` (nearest neighbour)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in VIDEO_SUFFIXES:
        raise VideoError(f"{path}: cannot write {suffix!r}; use .mp4 or .gif")
    video = upscale(video, scale)
    array = video.to_uint8()
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".mp4":
        h, w = video.size
        if h % 2 or w % 2:
            raise VideoError(f"{path}: H.264 needs even height and width, got {h}x{w}; pass scale=2")
        # Near-lossless quality keeps palette colours exact enough for the rule-based scorers.
        with imageio.get_writer(
            path, format="FFMPEG", fps=video.fps, codec="libx264", macro_block_size=1,
            pixelformat="yuv420p", ffmpeg_params=["-crf", "12"], ffmpeg_log_level="error",
        ) as writer:
            for frame in array:
                writer.append_data(frame)
    else:
        # Own palette per frame, no dithering: flat tiles stay flat, exact and compress well (PIL's
        # default web palette with dithering turns every flat colour into noise).
        images = [Image.fromarray(f).quantize(colors=64, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
                  for f in array]
        images[0].save(
            path, save_all=True, append_images=images[1:], loop=0,
            duration=int(round(1000 / video.fps)), optimize=False,
        )
    return path


def read_image(path: str | Path) -> torch.Tensor:
    """Read an image as a float tensor (3, H, W) in [0, 1]."""
    path = Path(path)
    if not path.is_file():
        raise VideoError(f"{path}: no such file")
    try:
        with Image.open(path) as im:
            array = np.asarray(im.convert("RGB"))
    except Exception as exc:
        raise VideoError(f"cannot read {path}: not an image Pillow can read ({_first_line(exc)})") from None
    return from_uint8(array[None])[0]


def write_image(image: torch.Tensor, path: str | Path, scale: int = 1) -> Path:
    """Write a (3, H, W) float image in [0, 1] as .png, optionally upscaled (nearest neighbour)."""
    path = Path(path)
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise VideoError(f"{path}: cannot write {path.suffix!r}; use .png")
    array = to_uint8(upscale(Video(image[None].float()), scale).frames)[0]
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path
