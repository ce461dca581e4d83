"""Where the files shipped inside the package are; below every layer, so that each finds them the same way."""

from __future__ import annotations

from pathlib import Path


def weights_dir() -> Path:
    """The folder of the shipped tiny-world weights inside the package."""
    return Path(__file__).resolve().parent / "weights"
