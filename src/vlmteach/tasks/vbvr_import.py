"""Import the raw output of VBVR's per-task data generators into the benchmark's layout.

A generator writes `<out>/<domain>_task/<domain>_NNNNNNNN/` folders (first_frame.png, final_frame.png,
prompt.txt, ground_truth.mp4, metadata.json). The kit reads `<root>/<split folder>/<task>/<NNNNN>/`,
where <task> is the full task name ("O-47_sliding_puzzle_data-generator") and the split is the
task's (tasks/vbvr_catalog.py). Imported samples take the next free 5-digit indices in sorted order
of their folder names; each records where it came from in source.json, so importing again skips it."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from vlmteach.errors import TaskError
from vlmteach.tasks.vbvr import SPLIT_FOLDERS
from vlmteach.tasks.vbvr_catalog import NAMES, TASKS, by_domain, task_id

FILES = ("first_frame.png", "final_frame.png", "prompt.txt", "ground_truth.mp4", "metadata.json",
         "question_metadata.json")
SOURCE = "source.json"


@dataclass
class Imported:
    source: Path
    dest: Path
    task: str
    split: str


def find_raw_samples(src: str | Path) -> list[Path]:
    """Sample folders (holding first_frame.png and prompt.txt) at most two levels under `src`, sorted."""
    src = Path(src)
    if not src.is_dir():
        raise TaskError(f"{src}: not a folder; give a generator's output folder (<domain>_task/<domain>_NNNNNNNN/)")
    found = [p for p in (src, *src.iterdir(), *(q for d in src.iterdir() if d.is_dir() for q in d.iterdir()))
             if p.is_dir() and (p / "first_frame.png").is_file() and (p / "prompt.txt").is_file()]
    if not found:
        raise TaskError(f"{src}: no sample folders (with first_frame.png and prompt.txt) in it or its subfolders")
    return sorted(set(found))


def resolve_task(name: str) -> str:
    """A task given by id ("G-174"), full name or name without the suffix -> the full folder name."""
    tid = task_id(name)
    if tid is None or tid not in NAMES:
        raise TaskError(f"unknown VBVR task {name!r}; give its id (e.g. G-174) or name "
                        "(e.g. G-174_arrange_circles_by_circumference_data-generator)")
    return NAMES[tid]


def task_of(sample: Path) -> str:
    """The full task name of a generator's sample folder: from metadata.json's "generator" (the
    domain), else the parent folder's "<domain>_task" name."""
    for meta in ("metadata.json", "question_metadata.json"):
        path = sample / meta
        if path.is_file():
            try:
                domain = json.loads(path.read_text()).get("generator")
            except (json.JSONDecodeError, AttributeError):
                domain = None
            if isinstance(domain, str) and by_domain(domain):
                return by_domain(domain)
    parent = sample.parent.name
    if task_id(parent) in NAMES:
        return NAMES[task_id(parent)]
    domain = parent.removesuffix("_task")
    if by_domain(domain):
        return by_domain(domain)
    raise TaskError(f"{sample}: cannot tell which VBVR task it is (no metadata.json 'generator' or folder name "
                    "that names one of the 100 tasks); pass --task ID")


def _imported_sources(task_dir: Path) -> set[str]:
    sources = set()
    for folder in task_dir.iterdir() if task_dir.is_dir() else ():
        path = folder / SOURCE
        if path.is_file():
            try:
                sources.add(json.loads(path.read_text())["source"])
            except (json.JSONDecodeError, KeyError, TypeError):
                continue
    return sources


def import_vbvr(src: str | Path, dst: str | Path, task: str | None = None) -> list[Imported]:
    """Copy every generator sample under `src` into the kit's layout under `dst`; returns what was
    copied (samples imported before are skipped)."""
    forced = resolve_task(task) if task else None
    groups: dict[str, list[Path]] = {}
    for sample in find_raw_samples(src):
        groups.setdefault(forced or task_of(sample), []).append(sample)
    done: list[Imported] = []
    for name, samples in groups.items():
        split = TASKS[task_id(name)][1]
        task_dir = Path(dst) / SPLIT_FOLDERS[split] / name
        task_dir.mkdir(parents=True, exist_ok=True)
        seen = _imported_sources(task_dir)
        taken = [int(p.name) for p in task_dir.iterdir() if p.is_dir() and len(p.name) == 5 and p.name.isdigit()]
        index = max(taken, default=-1) + 1
        for sample in sorted(samples, key=lambda p: p.name):
            source = str(sample.resolve())
            if source in seen:
                continue
            dest = task_dir / f"{index:05d}"
            tmp = task_dir / f".{dest.name}.tmp{os.getpid()}"
            tmp.mkdir()
            for file in FILES:
                if (sample / file).is_file():
                    shutil.copy2(sample / file, tmp / file)
            (tmp / SOURCE).write_text(json.dumps({"source": source, "name": sample.name, "task": name}))
            os.replace(tmp, dest)  # a sample folder appears whole or not at all
            done.append(Imported(sample, dest, name, split))
            index += 1
    return done


__all__ = ["Imported", "find_raw_samples", "import_vbvr", "resolve_task", "task_of"]
