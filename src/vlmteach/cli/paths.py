"""Output paths checked before any compute: a run that cannot write its results should say so at
once, not after an hour of optimization (or with an ffmpeg BrokenPipeError)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from vlmteach.errors import VlmteachError


def _existing_ancestor(path: Path) -> Path:
    here = path
    while not here.exists():
        if here.parent == here:
            break
        here = here.parent
    return here


def _check_can_create_in(folder: Path, option: str, target: Path) -> None:
    if not folder.is_dir():
        raise VlmteachError(f"{option} {target}: {folder} is a file, not a folder; choose another {option}")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise VlmteachError(f"{option} {target}: cannot write in {folder} ({exc.strerror or exc}); "
                            f"choose a writable {option}") from None


def check_output_folder(path: str | Path, option: str = "--out") -> Path:
    """A folder the command will create or write into: refused if it is a file, or if it (or the
    first existing folder above it) cannot be written."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise VlmteachError(f"{option} {path}: exists and is a file; {option} needs a folder")
    _check_can_create_in(path if path.is_dir() else _existing_ancestor(path), option, path)
    return path


def check_output_file(path: str | Path, option: str = "--out") -> Path:
    """A file the command will write: refused if it is a folder, or if its folder cannot be written."""
    path = Path(path)
    if path.is_dir():
        raise VlmteachError(f"{option} {path}: is a folder; {option} needs a file name")
    if path.exists() and not os.access(path, os.W_OK):
        raise VlmteachError(f"{option} {path}: the file is read-only; choose another {option}")
    _check_can_create_in(_existing_ancestor(path.parent), option, path)
    return path
