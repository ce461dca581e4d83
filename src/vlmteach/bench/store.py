"""The results of a run: `results.jsonl`, one JSON line per (instance, method), appended
atomically (one write of a whole line, flushed and fsynced), so a crash loses at most the line
in flight, and a torn last line from a killed process is cut off before the next append."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

from vlmteach.errors import VlmteachWarning

RESULTS = "results.jsonl"
CORRUPT = "results.corrupt.jsonl"  # lines set aside by ResultStore, with their line numbers


def job_key(item_key: str, method: str) -> str:
    return f"{method}|{item_key}"


def line_key(line: dict[str, Any]) -> str:
    return job_key(f"{line['split']}/{line['family']}/{int(line['index']):05d}", line["method"])


class ResultStore:
    """Append-only store of result lines, indexed by job key (the latest line of a key wins)."""

    def __init__(self, rundir: str | Path):
        self.path = Path(rundir) / RESULTS
        self._repair()
        self.lines: dict[str, dict[str, Any]] = {line_key(x): x for x in self._load()}

    def _load(self) -> list[dict[str, Any]]:
        """The valid lines, read once. Corrupt ones (not JSON, or without a job's identity) are moved to
        results.corrupt.jsonl with their line numbers, never dropped, so that their jobs run again and
        the report reads the rest."""
        if not self.path.exists():
            return []
        raw = self.path.read_text(encoding="utf-8", errors="replace").splitlines()
        lines, good, bad = [], [], []
        for number, text in enumerate(raw, 1):
            try:
                line = json.loads(text)
                line_key(line)
                lines.append(line)
                good.append(text)
            except (json.JSONDecodeError, KeyError, TypeError, ValueError):
                if text.strip():
                    bad.append({"line": number, "text": text})
        if not bad:
            return lines
        with open(self.path.with_name(CORRUPT), "a", encoding="utf-8") as side:
            for entry in bad:
                side.write(json.dumps(entry) + "\n")
        tmp = self.path.with_name(f".{RESULTS}.tmp")
        tmp.write_text("".join(t + "\n" for t in good), encoding="utf-8")
        os.replace(tmp, self.path)
        numbers = ", ".join(str(e["line"]) for e in bad[:5]) + (" ..." if len(bad) > 5 else "")
        warnings.warn(f"{self.path}: {len(bad)} corrupt line(s) (line {numbers}) moved to {CORRUPT}; "
                      "their jobs run again", VlmteachWarning, stacklevel=2)
        return lines

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
