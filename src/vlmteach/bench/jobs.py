"""One benchmark job: run one method on one item, score it, write its video, and return the
result line. Pure with respect to the run folder except for its own video file, so any executor
(local, ray) can run it; only the driver appends lines to results.jsonl."""

from __future__ import annotations

import os
import re
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vlmteach.bench.suites import SPLIT_FOLDERS, Item, item_from_ref
from vlmteach.errors import VlmteachError
from vlmteach.methods import Problem, build_method
from vlmteach.tasks.vbvr import conform, view_scale
from vlmteach.video import write_image, write_video


def parse_method_list(text: str) -> list[str]:
    """"vanilla,teacher_tto[grad=last-step;lr=1e-3]" -> labels; commas inside brackets do not split."""
    labels, depth, cur = [], 0, ""
    for ch in text:
        depth += {"[": 1, "]": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            labels.append(cur.strip())
            cur = ""
        else:
            cur += ch
    labels.append(cur.strip())
    labels = [x for x in labels if x]
    if not labels:
        raise VlmteachError("--methods is empty; e.g. --methods vanilla,best_of_n,teacher_tto")
    if len(set(labels)) != len(labels):
        raise VlmteachError(f"--methods lists a method twice: {text}")
    return labels


def label_slug(label: str) -> str:
    """A folder-safe form of a method label."""
    return re.sub(r"[^\w.=-]+", "-", label).strip("-")


def video_relpath(label: str, item: Item) -> str:
    return f"videos/{label_slug(label)}/{SPLIT_FOLDERS[item.split]}/{item.family}/{item.index:05d}.mp4"


def first_frame_relpath(item: Item) -> str:
    return f"instances/{SPLIT_FOLDERS[item.split]}/{item.family}/{item.index:05d}.png"


@dataclass
class Job:
    item: dict[str, Any]  # Item.to_ref()
    item_key: str
    method: str  # label, e.g. "teacher_tto" or "teacher_tto[grad=last-step]"
    sets: dict[str, dict[str, str]] = field(default_factory=dict)
    budget_s: float | None = None  # wall-time budget for cost-matched methods (best_of_n n=auto)
    export: dict[str, str] = field(default_factory=dict)  # folder suites: tasks.vbvr.conform's frames / first

    @property
    def key(self) -> str:
        return f"{self.method}|{self.item_key}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _atomic_video(video, path: Path, scale: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}.mp4")
    write_video(video, tmp, scale)
    os.replace(tmp, path)


def ensure_first_frame(item: Item, rundir: Path) -> str:
    rel = first_frame_relpath(item)
    path = rundir / rel
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        frame = item.first_frame
        tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}.png")
        write_image(frame, tmp, view_scale(tuple(frame.shape[-2:])))
        os.replace(tmp, path)
    return rel


def base_line(job: Job, item: Item | None = None) -> dict[str, Any]:
    """A result line with the job's identity filled in and status "failed" until it succeeds."""
    ref = job.item
    split, family, _ = job.item_key.split("/")
    line: dict[str, Any] = {"family": family, "seed": ref["seed"], "difficulty": ref["difficulty"],
                            "index": ref["index"], "split": split, "faculty": "unknown",
                            "method": job.method, "prompt": None, "score": None, "parts": {}, "scorer": None,
                            "cost": {"wall_s": 0.0}, "steps": 0, "status": "failed", "error": None,
                            "trace": {}, "video": None, "first_frame": None}
    if item is not None:
        line.update(family=item.family, seed=item.seed, difficulty=item.difficulty, split=item.split,
                    faculty=item.faculty, prompt=item.prompt)
        if item.folder is not None:
            line["sample"] = item.sample_name
    return line


def failed_line(job: Job, error: str) -> dict[str, Any]:
    """The line of a job that could not run to completion (e.g. its worker kept dying)."""
    return {**base_line(job), "error": error}


def execute(job: Job, reasoner, teacher, rundir: str | Path, progress=None) -> dict[str, Any]:
    """Run the job and return its result line; a failure becomes a line with status "failed"."""
    rundir = Path(rundir)
    line = base_line(job)
    try:
        item = item_from_ref(job.item)
        line = base_line(job, item)
        line["first_frame"] = ensure_first_frame(item, rundir)
        method = build_method(job.method, job.sets)
        line["method_name"] = method.name
        problem = Problem(item.first_frame, item.prompt, item.seed,
                          scorer=lambda v: item.score(v).total, budget_s=job.budget_s,
                          reference=item.reference if method.needs_reference() else None)
        result = method.run(reasoner, teacher, problem, progress)
        score = item.score(result.video)  # the reasoner's own video; the exported file is conformed to the suite
        rel = video_relpath(job.method, item)
        if item.folder is None:  # built-in instances: upscaled to a viewable size
            _atomic_video(result.video, rundir / rel, view_scale(result.video.size))
        else:  # a folder's samples: as the benchmark's kit expects them
            _atomic_video(conform(result.video, item.sample(), **job.export), rundir / rel, 1)
        line.update(score=score.total, parts=score.parts, scorer=score.scorer, cost=result.cost.to_dict(),
                    steps=result.steps, status="ok", trace=result.trace, video=rel)
    except Exception as exc:
        where = traceback.extract_tb(exc.__traceback__)[-1]
        line["error"] = f"{type(exc).__name__}: {exc} (at {Path(where.filename).name}:{where.lineno})"
    return line
