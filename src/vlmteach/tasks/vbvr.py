"""The VBVR-Bench folder layout, as the official data and evaluation kit lay it out.

Data:          <root>/In-Domain_50|Out-of-Domain_50/<task>/<00000>/{first_frame.png, final_frame.png,
               ground_truth.mp4, prompt.txt}, plus our instance.json (absent in official data).
Model outputs: <out>/<split folder>/<task>/<00000>.mp4, so the official kit can score them,
               conformed to the sample (`conform`): its first frame's size, the ground truth's fps.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from vlmteach.errors import TaskError, VlmteachError
from vlmteach.tasks.base import Instance, Score
from vlmteach.tasks.generic import generic_score
from vlmteach.tasks.registry import family_names, get_family
from vlmteach.tasks.vbvr_catalog import lookup
from vlmteach.video import Video, read_image, read_video, write_image, write_video
from vlmteach.video.io import probe_video

SPLIT_FOLDERS = {"in": "In-Domain_50", "ood": "Out-of-Domain_50"}
FOLDER_SPLITS = {v: k for k, v in SPLIT_FOLDERS.items()}
INSTANCE_FILE = "instance.json"
VIEW_SIZE = 256  # small videos are upscaled (nearest neighbour) to at least this many pixels a side
VBVR_FPS = 16.0  # the benchmark's frame rate, for samples without a ground-truth video to read it from
EXPORT_FRAMES = ("model", "gt")  # keep the reasoner's frame count, or resample to the ground truth's
EXPORT_FIRST = ("condition", "model")  # frame 0 is the conditioning image (as I2V pipelines return), or the model's


@dataclass
class Sample:
    """One sample folder: the official files, and our Instance when instance.json is present."""

    folder: Path
    task: str
    split: str  # "in" | "ood"
    index: str
    prompt: str
    first_frame: torch.Tensor  # (3, H, W)
    instance: Instance | None

    @property
    def faculty(self) -> str:
        """Our family's faculty, else the VBVR task table's, else "unknown"."""
        if self.instance is not None:
            return self.instance.faculty
        known = lookup(self.task)
        return known[0] if known else "unknown"

    @property
    def gt_timing(self) -> tuple[int | None, float]:
        """(frame count, fps) of ground_truth.mp4, read without decoding it; (None, 16) without one."""
        path = self.folder / "ground_truth.mp4"
        return probe_video(path) if path.exists() else (None, VBVR_FPS)

    @property
    def final_frame(self) -> torch.Tensor | None:
        path = self.folder / "final_frame.png"
        return read_image(path) if path.exists() else None

    @property
    def ground_truth(self) -> Video | None:
        path = self.folder / "ground_truth.mp4"
        return read_video(path) if path.exists() else None


def view_scale(size: tuple[int, int]) -> int:
    """Integer nearest-neighbour factor that brings the short side to at least VIEW_SIZE pixels."""
    return max(1, math.ceil(VIEW_SIZE / min(size)))


def _atomic_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def _identity(instance: Instance) -> tuple:
    return instance.family, instance.seed, instance.difficulty


def write_sample(instance: Instance, root: str | Path) -> Path:
    """Write an instance into the VBVR layout under `root` and return its sample folder.

    An existing folder holding the same (family, seed, difficulty) is reused; otherwise the instance
    takes the next free index, so nothing already there is ever overwritten."""
    task_dir = Path(root) / SPLIT_FOLDERS[instance.split] / instance.family
    task_dir.mkdir(parents=True, exist_ok=True)
    taken = sorted(p for p in task_dir.iterdir() if p.is_dir() and p.name.isdigit())
    for folder in taken:
        meta = folder / INSTANCE_FILE
        if meta.exists():
            try:
                data = json.loads(meta.read_text())
            except json.JSONDecodeError:
                continue
            if (data.get("family"), data.get("seed"), data.get("difficulty")) == _identity(instance):
                return folder
    index = max((int(p.name) for p in taken), default=-1) + 1
    folder = task_dir / f"{index:05d}"
    folder.mkdir()
    gt = instance.ground_truth
    scale = view_scale(gt.size)
    write_image(gt.frames[0], folder / "first_frame.png", scale)
    write_image(gt.frames[-1], folder / "final_frame.png", scale)
    write_video(gt, folder / "ground_truth.mp4", scale)
    (folder / "prompt.txt").write_text(instance.prompt + "\n")
    _atomic_text(folder / INSTANCE_FILE, json.dumps(instance.to_json()))  # last: marks it complete
    return folder


def read_sample(folder: str | Path) -> Sample:
    """Read a sample folder (ours or official VBVR-Bench data)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise TaskError(f"{folder}: not a sample folder (expected a folder with first_frame.png and prompt.txt)")
    for name in ("first_frame.png", "prompt.txt"):
        if not (folder / name).is_file():
            raise TaskError(f"{folder}: missing {name}; a VBVR-Bench sample folder holds first_frame.png, "
                            "final_frame.png, ground_truth.mp4 and prompt.txt")
    instance = None
    meta = folder / INSTANCE_FILE
    if meta.is_file():
        try:
            instance = Instance.from_json(json.loads(meta.read_text()))
        except json.JSONDecodeError as exc:
            raise TaskError(f"{meta}: not valid JSON ({exc})") from None
    split = instance.split if instance else FOLDER_SPLITS.get(folder.parent.parent.name, "in")
    task = instance.family if instance else folder.parent.name
    return Sample(folder, task, split, folder.name, (folder / "prompt.txt").read_text().strip(),
                  read_image(folder / "first_frame.png"), instance)


def iter_samples(root: str | Path) -> list[Sample]:
    """All sample folders under a VBVR-layout root, in split, task, index order."""
    root = Path(root)
    splits = [root / f for f in SPLIT_FOLDERS.values() if (root / f).is_dir()]
    if not splits:
        raise TaskError(f"{root}: no {' or '.join(SPLIT_FOLDERS.values())} folder; not a VBVR-Bench layout")
    return [read_sample(s) for split in splits for task in sorted(p for p in split.iterdir() if p.is_dir())
            for s in sorted(p for p in task.iterdir() if p.is_dir() and (p / "prompt.txt").exists())]


def score_sample(video: Video, sample: Sample) -> Score:
    """Rule-based score when the sample is one of our families, else the generic GT comparison."""
    if sample.instance is not None and sample.instance.family in family_names():
        return get_family(sample.instance.family).score(video, sample.instance)
    gt = sample.folder / "ground_truth.mp4"
    return generic_score(video.frames, sample.first_frame, sample.final_frame, gt if gt.is_file() else None)


def output_path(out: str | Path, split: str, task: str, index: str | int) -> Path:
    """Where the official kit expects a model's video: <out>/<split folder>/<task>/<00000>.mp4."""
    name = f"{index:05d}" if isinstance(index, int) else index
    return Path(out) / SPLIT_FOLDERS[split] / task / f"{name}.mp4"


def check_export(frames: str, first: str) -> None:
    if frames not in EXPORT_FRAMES:
        raise VlmteachError(f"unknown export frames {frames!r}; valid: {', '.join(EXPORT_FRAMES)}")
    if first not in EXPORT_FIRST:
        raise VlmteachError(f"unknown export first frame {first!r}; valid: {', '.join(EXPORT_FIRST)}")


def _resize(frames: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(T, 3, h, w) -> (T, 3, H, W): whole-number upscales by nearest neighbour (crisp cells),
    anything else by antialiased bilinear interpolation."""
    (h, w), (big_h, big_w) = frames.shape[-2:], size
    if (h, w) == (big_h, big_w):
        return frames
    if big_h % h == 0 and big_w % w == 0 and big_h // h == big_w // w:
        k = big_h // h
        return frames.repeat_interleave(k, dim=-2).repeat_interleave(k, dim=-1)
    out = [F.interpolate(frames[i: i + 8], size=size, mode="bilinear", align_corners=False, antialias=True)
           for i in range(0, frames.shape[0], 8)]  # a few frames at a time: 1024 px videos are large
    return torch.cat(out).clamp(0, 1)


def conform(video: Video, sample: Sample, frames: str = "model", first: str = "condition") -> Video:
    """The video as the benchmark's kit expects it for this sample: at the size of first_frame.png, at
    the ground truth's fps (16 without one), with the reasoner's frame count or resampled to the
    ground truth's (`frames="gt"`), and frame 0 the conditioning image (`first="condition"`)."""
    check_export(frames, first)
    count, fps = sample.gt_timing
    clip = video.frames
    if frames == "gt" and count and count != clip.shape[0]:
        index = torch.linspace(0, clip.shape[0] - 1, count).round().long()
        clip = clip[index]
    h, w = sample.first_frame.shape[-2:]
    size = (h + h % 2, w + w % 2)  # H.264 (yuv420p) needs even sides, as the generators' own videos have
    clip = _resize(clip, size)
    if first == "condition":
        clip = torch.cat([_resize(sample.first_frame[None], size).to(clip), clip[1:]])
    return Video(clip, fps)


def export_video(video: Video, out: str | Path, split: str, task: str, index: str | int) -> Path:
    """Write a generated video in the kit's model-output layout (upscaled for small videos)."""
    path = output_path(out, split, task, index)
    return write_video(video, path, view_scale(video.size))
