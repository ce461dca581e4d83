"""The results of a run: `results.jsonl`, one JSON line per (instance, method), appended
atomically (one write of a whole line, flushed and fsynced), so a crash loses at most the line
in flight, and a torn last line from a killed process is cut off before the next append."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

RESULTS = "results.jsonl"


def job_key(item_key: str, method: str) -> str:
    return f"{method}|{item_key}"


def line_key(line: dict[str, Any]) -> str:
    return job_key(f"{line['split']}/{line['family']}/{int(line['index']):05d}", line["method"])


def read_lines(path: Path) -> list[dict[str, Any]]:
    """Every complete, valid line of a results file (a torn or corrupt line is skipped)."""
    if not path.exists():
        return []
    out = []
    for raw in path.read_text().splitlines():
        try:
            out.append(json.loads(raw))
        except json.JSONDecodeError:
            continue
    return out


class ResultStore:
    """Append-only store of result lines, indexed by job key (the latest line of a key wins)."""

    def __init__(self, rundir: str | Path):
        self.path = Path(rundir) / RESULTS
        self._repair()
        self.lines: dict[str, dict[str, Any]] = {line_key(x): x for x in read_lines(self.path)}

    def _repair(self) -> None:
        """Cut a torn last line (no trailing newline) left by a process killed mid-write."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            return
        data = self.path.read_bytes()
        if not data.endswith(b"\n"):
            with open(self.path, "r+b") as f:
                f.truncate(data.rfind(b"\n") + 1)

    def done(self, key: str, retry_failed: bool = False) -> bool:
        line = self.lines.get(key)
        return line is not None and not (retry_failed and line.get("status") != "ok")

    def get(self, key: str) -> dict[str, Any] | None:
        return self.lines.get(key)

    def append(self, line: dict[str, Any]) -> None:
        data = (json.dumps(line, separators=(",", ":")) + "\n").encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            view = memoryview(data)
            while view:  # a regular file takes it in one write; loop in case it does not
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        self.lines[line_key(line)] = line

    def __len__(self) -> int:
        return len(self.lines)
