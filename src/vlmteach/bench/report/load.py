"""Reading a run folder: its results.jsonl (the latest line per job) and its config.json."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

from vlmteach.errors import VlmteachError, VlmteachWarning

RESULTS, CONFIG = "results.jsonl", "config.json"
_KEY_FIELDS = ("split", "family", "index", "method")


def load_results(rundir: str | Path) -> list[dict[str, Any]]:
    """Every result of RUNDIR/results.jsonl, the latest line per (instance, method) winning as on
    resume; a torn last line (a run killed mid-write) is skipped."""
    path = Path(rundir) / RESULTS
    if not path.is_file():
        raise VlmteachError(f"{path}: no such file; run `vlmteach bench` first to make a run folder")
    lines = [(number, text) for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if text.strip()]
    results: dict[tuple, dict[str, Any]] = {}
    skipped = []
    for k, (number, text) in enumerate(lines):
        try:
            row = json.loads(text)
        except json.JSONDecodeError:
            if k < len(lines) - 1:  # a torn last line is a killed run's, not worth a word
                skipped.append(number)
            continue
        if any(not isinstance(row, dict) or f not in row for f in _KEY_FIELDS):
            skipped.append(number)
            continue
        results[tuple(row[f] for f in _KEY_FIELDS)] = row
    if skipped:
        numbers = ", ".join(map(str, skipped[:5])) + (" ..." if len(skipped) > 5 else "")
        warnings.warn(f"{path}: skipped {len(skipped)} corrupt line(s) (line {numbers}); the report uses the rest. "
                      f"`vlmteach bench --out {path.parent} --resume` sets them aside and reruns their jobs",
                      VlmteachWarning, stacklevel=2)
    return list(results.values())


def load_config(rundir: str | Path) -> dict[str, Any]:
    """RUNDIR/config.json as a dict; empty when the run has none."""
    path = Path(rundir) / CONFIG
    if not path.is_file():
        return {}
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise VlmteachError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(config, dict):
        raise VlmteachError(f"{path}: expected a JSON object, got {type(config).__name__}")
    return config
