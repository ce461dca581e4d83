"""Scores of the official VBVR-Bench evaluation kit, imported into a run folder beside ours.

The kit's `run_evaluation.py` writes `<model>_vbvr_results.json`: a "samples" list whose entries name
the video (`video_path`, `video_file` "00003.mp4"), its `task_name`, its split folder (`folder`,
"In-Domain_50"), and its `score`. A run's `videos/<method>/` folder is such a model folder, so each
entry maps to one of our result lines by (method, split, task, index). Imported scores are kept in
`official.json` in the run folder; the report reads them from there."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from vlmteach.bench.jobs import label_slug
from vlmteach.bench.store import job_key
from vlmteach.errors import VlmteachError
from vlmteach.tasks.vbvr import FOLDER_SPLITS

OFFICIAL = "official.json"
_VIDEO = re.compile(r"^(\d{5})\.mp4$")


def _method_of(path: str, methods: list[str]) -> str | None:
    """The run method whose videos/<slug>/ folder the kit's video_path lies in, if any."""
    parts = Path(path).parts
    slugs = {label_slug(m): m for m in methods}
    for i, part in enumerate(parts[:-1]):
        if part == "videos" and parts[i + 1] in slugs:
            return slugs[parts[i + 1]]
    return None


def read_kit_samples(path: str | Path) -> list[dict[str, Any]]:
    """The per-sample entries of a kit results file, checked for the keys we use."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise VlmteachError(f"cannot read {path}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise VlmteachError(f"{path}: not valid JSON ({exc})") from None
    samples = data.get("samples") if isinstance(data, dict) else None
    if not isinstance(samples, list):
        raise VlmteachError(f"{path}: no \"samples\" list; expected the <model>_vbvr_results.json that the "
                            "VBVR-Bench kit's run_evaluation.py writes")
    for i, s in enumerate(samples):
        missing = [k for k in ("task_name", "score") if not isinstance(s, dict) or k not in s]
        if missing:
            raise VlmteachError(f"{path}: sample {i} lacks {', '.join(missing)}")
    return samples


def import_official(rundir: str | Path, kit_json: str | Path, results: list[dict[str, Any]],
                    methods: list[str], method: str | None = None) -> tuple[int, list[str]]:
    """Match the kit's samples to the run's result lines and merge their scores into official.json.
    Returns (how many were matched, a description of each sample that was not)."""
    rundir = Path(rundir)
    if method is not None and method not in methods:
        raise VlmteachError(f"--official-method {method!r} is not a method of this run; valid: {', '.join(methods)}")
    ours = {job_key(f"{r['split']}/{r['family']}/{int(r['index']):05d}", r["method"]) for r in results}
    scores: dict[str, float] = {}
    unmatched: list[str] = []
    for s in read_kit_samples(kit_json):
        video = str(s.get("video_path") or s.get("video_file") or "")
        name = Path(video).name
        who = method or _method_of(video, methods)
        split = FOLDER_SPLITS.get(str(s.get("folder") or Path(video).parent.parent.name))
        m = _VIDEO.match(name)
        if who is None or split is None or m is None:
            why = ("no method (its video_path is not under videos/<method>/; pass --official-method)"
                   if who is None else "no split folder" if split is None else "a video name that is not NNNNN.mp4")
            unmatched.append(f"{s['task_name']}/{name or '?'}: {why}")
            continue
        key = job_key(f"{split}/{s['task_name']}/{m.group(1)}", who)
        if key not in ours:
            unmatched.append(f"{s['task_name']}/{name}: no result of {who} for it in this run")
            continue
        if s.get("error"):
            unmatched.append(f"{s['task_name']}/{name}: the kit failed on it ({s['error']})")
            continue
        scores[key] = float(s["score"])
    merged = {**load_official(rundir), **scores}
    tmp = rundir / f".{OFFICIAL}.tmp"
    tmp.write_text(json.dumps({"source": str(kit_json), "scores": merged}, indent=1))
    os.replace(tmp, rundir / OFFICIAL)
    return len(scores), unmatched


def load_official(rundir: str | Path) -> dict[str, float]:
    """Imported official scores by job key ({} when none were imported)."""
    path = Path(rundir) / OFFICIAL
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise VlmteachError(f"{path}: not valid JSON ({exc}); import the kit's scores again") from None
    return {str(k): float(v) for k, v in (data.get("scores") or {}).items()}
